/** Config entries by kind (`/v1/config/<kind>`, live), each shown as highlighted JSON; write with PUT /v1/config, delete by kind and name. */
import { useState } from 'react';
import { useBlocking } from '../core/blocking.ts';
import { consulJson, enc } from '../core/http.ts';
import { Link } from '../core/router.ts';
import { CodeBlock, CodeEditor, jsonError } from '../components/code-editor.tsx';
import { Empty, ErrorBox, Section } from '../components/states.tsx';

export const KINDS = [
  'service-defaults', 'proxy-defaults', 'service-router', 'service-splitter', 'service-resolver', 'service-intentions',
  'ingress-gateway', 'terminating-gateway', 'api-gateway', 'mesh', 'exported-services', 'jwt-provider',
] as const;

interface Entry {
  Kind: string;
  Name: string;
  ModifyIndex?: number;
  [field: string]: unknown;
}

function Editor({ kind, initial, onDone }: { kind: string; initial?: Entry; onDone: () => void }) {
  const start = initial ? { ...initial } : { Kind: kind, Name: '' };
  delete (start as Partial<Entry>).CreateIndex;
  delete (start as Partial<Entry>).ModifyIndex;
  const [text, setText] = useState(JSON.stringify(start, null, 2));
  const [error, setError] = useState<Error>();
  const invalid = jsonError(text);
  const save = async () => {
    setError(undefined);
    try {
      const cas = initial?.ModifyIndex !== undefined ? `?cas=${initial.ModifyIndex}` : '';
      const ok = await consulJson<boolean>(`/v1/config${cas}`, { method: 'PUT', body: JSON.parse(text) as unknown });
      if (ok === false) setError(new Error('Not saved: someone else changed this entry since it was loaded.'));
      else onDone();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <form className="card" aria-label="Config entry editor" onSubmit={(e) => { e.preventDefault(); void save(); }}>
      <CodeEditor label={initial ? `Edit ${initial.Kind}/${initial.Name}` : `New ${kind}`} value={text} onChange={setText} syntax="json" rows={14} />
      {invalid && <p className="warn">Not valid JSON: {invalid}</p>}
      {error && <ErrorBox error={error} what="the config entry" action="save" />}
      <div className="row">
        <button type="submit" disabled={invalid !== undefined}>Save</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

export function ConfigEntriesPage({ kind }: { kind: string }) {
  const entries = useBlocking<Entry[]>(`/v1/config/${enc(kind)}`, { notFoundAs: [] });
  const [editing, setEditing] = useState<Entry | 'new'>();
  const [error, setError] = useState<Error>();
  const remove = async (entry: Entry) => {
    if (!confirm(`Delete ${entry.Kind} ${entry.Name}?`)) return;
    try {
      await consulJson(`/v1/config/${enc(entry.Kind)}/${enc(entry.Name)}`, { method: 'DELETE' });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <>
      <h1 tabIndex={-1}>Config entries</h1>
      <nav aria-label="Kinds" className="tabs">
        {KINDS.map((k) => <Link key={k} to={`config/${k}`} aria-current={k === kind ? 'page' : undefined}>{k}</Link>)}
      </nav>
      {editing ? (
        <Editor key={editing === 'new' ? 'new' : editing.Name} kind={kind} {...(editing === 'new' ? {} : { initial: editing })} onDone={() => setEditing(undefined)} />
      ) : (
        <p><button type="button" onClick={() => setEditing('new')}>New {kind}</button></p>
      )}
      {error && <ErrorBox error={error} what="the config entry" action="save" />}
      <Section live={entries} what={`${kind} entries`}>
        {(list) => (list ?? []).length === 0 ? <Empty>No {kind} entries.</Empty> : (
          <ul className="plain">
            {list.map((e) => (
              <li key={e.Name} className="card">
                <div className="row">
                  <h2 className="grow">{e.Name}</h2>
                  <button type="button" onClick={() => setEditing(e)}>Edit</button>
                  <button type="button" className="danger" onClick={() => void remove(e)}>Delete</button>
                </div>
                <CodeBlock text={JSON.stringify(e, null, 2)} label={`${e.Kind} ${e.Name}`} />
              </li>
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}
