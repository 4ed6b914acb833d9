/**
 * A text editor with JSON/YAML highlighting and no editor library: a transparent textarea over a <pre> that
 * renders the same text as coloured tokens, both in one font and scrolled together. The tokenizers are small
 * regular expressions — enough to read a config value, not a parser; JSON is also validated with JSON.parse.
 */
import { useId, useMemo, useRef, type ReactNode } from 'react';

export type Syntax = 'json' | 'yaml' | 'text';

export function detectSyntax(text: string): Syntax {
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed)) return 'json';
  if (/^(---|[\w"'.-]+\s*:(\s|$)|-\s)/m.test(trimmed)) return 'yaml';
  return 'text';
}

export function jsonError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const JSON_TOKENS = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b|([{}[\],])/g;
const YAML_LINE = /^(\s*(?:-\s+)?)([^\s#:][^:#]*?)(:)(?=\s|$)(.*)$/;

function highlightJson(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(JSON_TOKENS)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const key = out.length;
    if (m[1] !== undefined) {
      out.push(<span key={key} className={m[2] ? 'tok-key' : 'tok-string'}>{m[1]}</span>);
      if (m[2]) out.push(m[2]);
    } else if (m[3] !== undefined) out.push(<span key={key} className="tok-number">{m[3]}</span>);
    else if (m[4] !== undefined) out.push(<span key={key} className="tok-literal">{m[4]}</span>);
    else out.push(<span key={key} className="tok-punct">{m[5]}</span>);
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

function yamlValue(value: string, key: number): ReactNode {
  const comment = value.search(/\s#/);
  const body = comment === -1 ? value : value.slice(0, comment);
  const rest = comment === -1 ? '' : value.slice(comment);
  const trimmed = body.trim();
  let cls = 'tok-string';
  if (/^(true|false|null|~|yes|no)$/i.test(trimmed)) cls = 'tok-literal';
  else if (/^-?\d+(\.\d+)?$/.test(trimmed)) cls = 'tok-number';
  return (
    <span key={key}>
      <span className={cls}>{body}</span>
      {rest && <span className="tok-comment">{rest}</span>}
    </span>
  );
}

function highlightYaml(text: string): ReactNode[] {
  return text.split('\n').flatMap((line, i) => {
    const nodes: ReactNode[] = [];
    if (i > 0) nodes.push('\n');
    if (/^\s*#/.test(line)) {
      nodes.push(<span key={`c${i}`} className="tok-comment">{line}</span>);
      return nodes;
    }
    const m = YAML_LINE.exec(line);
    if (m) {
      nodes.push(m[1]!, <span key={`k${i}`} className="tok-key">{m[2]}</span>, <span key={`p${i}`} className="tok-punct">{m[3]}</span>, yamlValue(m[4]!, i));
    } else {
      const item = /^(\s*-\s+)(.*)$/.exec(line);
      if (item) nodes.push(item[1]!, yamlValue(item[2]!, i));
      else nodes.push(line);
    }
    return nodes;
  });
}

export function Highlighted({ text, syntax }: { text: string; syntax: Syntax }) {
  const nodes = useMemo(() => (syntax === 'json' ? highlightJson(text) : syntax === 'yaml' ? highlightYaml(text) : [text]), [text, syntax]);
  return <>{nodes}</>;
}

interface EditorProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  syntax: Syntax;
  readOnly?: boolean;
  rows?: number;
}

export function CodeEditor({ label, value, onChange, syntax, readOnly, rows = 12 }: EditorProps) {
  const id = useId();
  const pre = useRef<HTMLPreElement>(null);
  return (
    <div className="code-editor">
      <label htmlFor={id}>{label}</label>
      <div className="code-stack" style={{ minHeight: `${rows * 1.45 + 1}em` }}>
        <pre ref={pre} aria-hidden="true" className="code-layer"><Highlighted text={value} syntax={syntax} />{'\n'}</pre>
        <textarea
          id={id}
          className="code-input"
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          value={value}
          readOnly={readOnly}
          rows={rows}
          onChange={(e) => onChange(e.target.value)}
          onScroll={(e) => {
            if (pre.current) {
              pre.current.scrollTop = e.currentTarget.scrollTop;
              pre.current.scrollLeft = e.currentTarget.scrollLeft;
            }
          }}
        />
      </div>
    </div>
  );
}

/** Read-only highlighted block (config entries, check definitions). */
export function CodeBlock({ text, syntax = 'json', label }: { text: string; syntax?: Syntax; label?: string }) {
  return <pre className="code-block" tabIndex={0} aria-label={label}><Highlighted text={text} syntax={syntax} /></pre>;
}
