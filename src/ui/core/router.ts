/**
 * Client-side routes under the mount (`/ui/services/web`, `/dashboard/gateway`): the History API, no library.
 * The serving process answers any path under the mount with index.html, so a reload or a pasted link lands here.
 */
import { createElement, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';
import { MOUNT } from './mount.ts';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onPop = () => listener();
  window.addEventListener('popstate', onPop);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', onPop);
  };
}

/** The route: the path below the mount without its leading slash, plus the query string. */
function snapshot(): string {
  const path = location.pathname.startsWith(MOUNT) ? location.pathname.slice(MOUNT.length) : '';
  return `${path}${location.search}`;
}

export interface Route {
  /** Decoded path segments below the mount (`['services', 'web']`). */
  readonly segments: string[];
  /** The raw path below the mount, for routes that take the rest of it (KV keys). */
  readonly rest: string;
  readonly query: URLSearchParams;
}

export function useRoute(): Route {
  const raw = useSyncExternalStore(subscribe, snapshot);
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  return {
    segments: path.split('/').filter((s) => s !== '').map(safeDecode),
    rest: path,
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function href(to: string): string {
  return `${MOUNT}${to.replace(/^\//, '')}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = href(to);
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string; children?: ReactNode };

/** An ordinary link (keyboard, middle-click and copy work) that navigates in place on a plain click. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const target = href(to);
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return createElement('a', { ...rest, href: target, onClick: handle });
}
