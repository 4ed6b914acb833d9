/**
 * The KV store: a folder view (`?keys&separator=/`), create, edit with JSON/YAML highlighting, delete. Every write is
 * a check-and-set: an edit saves with `?cas=<ModifyIndex it started from>`, a create with `?cas=0`; when Consul
 * answers `false` someone else changed the key, and the page shows both versions and lets the user choose.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { KVPair } from '../../api/types.ts';
import { useBlocking } from '../core/blocking.ts';
import { ApiError, consulJson, encKey } from '../core/http.ts';
import { Link, navigate } from '../core/router.ts';
import { CodeEditor, detectSyntax, jsonError, type Syntax } from '../components/code-editor.tsx';
import { Empty, ErrorBox, Loading } from '../components/states.tsx';

export function decodeValue(value: string | null): string {
  if (value === null || value === '') return '';
  const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

function Crumbs({ path }: { path: string }) {
  const parts = path.split('/').filter((p) => p !== '');
  return (
    <nav aria-label="Key path" className="crumbs">
      <Link to="kv/">Key/Value</Link>
      {parts.map((p, i) => {
        const to = `${parts.slice(0, i + 1).join('/')}${i < parts.length - 1 || path.endsWith('/') ? '/' : ''}`;
        return <span key={to}> / <Link to={`kv/${encKey(to)}`}>{p}</Link></span>;
      })}
    </nav>
  );
}

function SyntaxPicker({ value, onChange }: { value: Syntax; onChange: (s: Syntax) => void }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>Highlight as</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Syntax)}>
        <option value="json">JSON</option>
        <option value="yaml">YAML</option>
        <option value="text">Text</option>
      </select>
    </span>
  );
}

function errorText(err: unknown): ApiError | Error {
  return err instanceof Error ? err : new Error(String(err));
}

function CreateForm({ prefix }: { prefix: string }) {
  const nameId = useId();
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [syntax, setSyntax] = useState<Syntax>('json');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === '') return setError(new Error('Give the key a name.'));
    setBusy(true);
    setError(undefined);
    const key = `${prefix}${name.trim()}`;
    try {
      const ok = await consulJson<boolean>(`/v1/kv/${encKey(key)}?cas=0`, { method: 'PUT', body: key.endsWith('/') ? '' : value });
      if (!ok) setError(new Error(`${key} already exists; open it to edit.`));
      else navigate(`kv/${encKey(key)}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const invalid = syntax === 'json' && value.trim() !== '' ? jsonError(value) : undefined;
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Create a key">
      <h2>Create</h2>
      <div className="row">
        <span className="field grow">
          <label htmlFor={nameId}>Key name (end with / for a folder)</label>
          <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} placeholder="config/app" required />
        </span>
        <SyntaxPicker value={syntax} onChange={setSyntax} />
      </div>
      {!name.endsWith('/') && <CodeEditor label="Value" value={value} onChange={setValue} syntax={syntax} rows={6} />}
      {invalid && <p className="warn">Not valid JSON: {invalid}</p>}
      {error && <ErrorBox error={error} what="the new key" action="create" />}
      <button type="submit" disabled={busy}>Create</button>
    </form>
  );
}

function Folder({ prefix }: { prefix: string }) {
  const keys = useBlocking<string[]>(`/v1/kv/${encKey(prefix)}?keys&separator=/`, { notFoundAs: [] });
  const [error, setError] = useState<Error>();
  const removeFolder = async () => {
    if (!confirm(`Delete ${prefix} and every key under it?`)) return;
    try {
      await consulJson<boolean>(`/v1/kv/${encKey(prefix)}?recurse`, { method: 'DELETE' });
      navigate(`kv/${encKey(prefix.replace(/[^/]+\/$/, ''))}`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const list = (keys.data ?? []).filter((k) => k !== prefix);
  return (
    <>
      {keys.error && <ErrorBox error={keys.error} what="keys" />}
      {error && <ErrorBox error={error} what="the folder" action="delete" />}
      {keys.loading && keys.data === undefined ? <Loading what="keys" /> : list.length === 0 ? <Empty>No keys under {prefix || 'the root'}.</Empty> : (
        <ul className="kv-tree" aria-label="Keys">
          {list.map((k) => (
            <li key={k} className={k.endsWith('/') ? 'folder' : 'key'}>
              <Link to={`kv/${encKey(k)}`}><span aria-hidden="true">{k.endsWith('/') ? '▸ ' : '• '}</span>{k.slice(prefix.length)}</Link>
            </li>
          ))}
        </ul>
      )}
      {prefix !== '' && <p><button type="button" className="danger" onClick={() => void removeFolder()}>Delete folder</button></p>}
      <CreateForm prefix={prefix} />
    </>
  );
}

interface Conflict {
  readonly theirs: string;
  readonly index: number;
}

function KeyEditor({ keyName }: { keyName: string }) {
  const live = useBlocking<KVPair[] | null>(`/v1/kv/${encKey(keyName)}`, { notFoundAs: null });
  const pair = live.data?.[0];
  const serverValue = pair ? decodeValue(pair.Value) : '';
  const [draft, setDraft] = useState<string>();
  const [base, setBase] = useState(0);
  const [syntax, setSyntax] = useState<Syntax>('text');
  const [conflict, setConflict] = useState<Conflict>();
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    // The highlighting follows the stored value until the user picks one.
    if (pair && draft === undefined) setSyntax(detectSyntax(serverValue));
  }, [pair?.ModifyIndex]);
  const editing = draft !== undefined;
  const text = editing ? draft : serverValue;
  const changedUnderneath = editing && pair !== undefined && pair.ModifyIndex !== base;
  const save = async (cas: number) => {
    setError(undefined);
    setSaved(false);
    try {
      const ok = await consulJson<boolean>(`/v1/kv/${encKey(keyName)}?cas=${cas}`, { method: 'PUT', body: text });
      if (ok) {
        setDraft(undefined);
        setConflict(undefined);
        setSaved(true);
      } else {
        const current = await consulJson<KVPair[]>(`/v1/kv/${encKey(keyName)}`).catch(() => null);
        setConflict({ theirs: current?.[0] ? decodeValue(current[0].Value) : '(deleted)', index: current?.[0]?.ModifyIndex ?? 0 });
      }
    } catch (err) {
      setError(errorText(err));
    }
  };
  const remove = async () => {
    if (!confirm(`Delete ${keyName}?`)) return;
    try {
      const ok = await consulJson<boolean>(`/v1/kv/${encKey(keyName)}?cas=${pair?.ModifyIndex ?? 0}`, { method: 'DELETE' });
      if (!ok) setError(new Error('Someone else changed the key since it was loaded; it was not deleted. Look at the new value first.'));
      else navigate(`kv/${encKey(keyName.replace(/[^/]*$/, ''))}`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (live.loading && live.data === undefined) return <Loading what="the key" />;
  if (live.error) return <ErrorBox error={live.error} what={`key ${keyName}`} />;
  if (!pair) return <Empty>No key named {keyName}. <Link to={`kv/${encKey(keyName.replace(/[^/]*$/, ''))}`}>Create it in its folder</Link>.</Empty>;
  const invalid = syntax === 'json' && text.trim() !== '' ? jsonError(text) : undefined;
  return (
    <form className="card" aria-label={`Edit ${keyName}`} onSubmit={(e) => { e.preventDefault(); void save(base); }}>
      <div className="row">
        <p className="muted grow">ModifyIndex {pair.ModifyIndex} · Flags {pair.Flags}{pair.Session ? ` · locked by session ${pair.Session}` : ''}</p>
        <SyntaxPicker value={syntax} onChange={setSyntax} />
      </div>
      <CodeEditor
        label="Value"
        value={text}
        syntax={syntax}
        onChange={(v) => {
          if (!editing) setBase(pair.ModifyIndex);
          setDraft(v);
          setSaved(false);
        }}
      />
      {invalid && <p className="warn">Not valid JSON: {invalid}</p>}
      {changedUnderneath && !conflict && <p className="warn" role="status">Someone else changed this key while you were editing (now at index {pair.ModifyIndex}).</p>}
      {conflict && (
        <div className="state error" role="alert" data-conflict="true">
          <strong>Not saved: someone else changed this key</strong> (index {conflict.index}). Their value:
          <pre className="output">{conflict.theirs}</pre>
          <button type="button" onClick={() => { setDraft(undefined); setConflict(undefined); }}>Discard mine, keep theirs</button>{' '}
          <button type="button" className="danger" onClick={() => void save(conflict.index)}>Overwrite with mine</button>
        </div>
      )}
      {error && <ErrorBox error={error} what="the key" action="save" />}
      {saved && <p role="status" className="ok">Saved.</p>}
      <div className="row">
        <button type="submit" disabled={!editing}>Save</button>
        <button type="button" disabled={!editing} onClick={() => { setDraft(undefined); setConflict(undefined); }}>Cancel</button>
        <span className="grow" />
        <button type="button" className="danger" onClick={() => void remove()}>Delete</button>
      </div>
    </form>
  );
}

export function KvPage({ path }: { path: string }) {
  const folder = path === '' || path.endsWith('/');
  return (
    <>
      <Crumbs path={path} />
      <h1 tabIndex={-1}>{path === '' ? 'Key/Value' : path}</h1>
      {folder ? <Folder prefix={path} /> : <KeyEditor key={path} keyName={path} />}
    </>
  );
}
