/** Intentions: the list in precedence order, an editor (create/update by source and destination), delete, and "can A reach B?". */
import { useId, useState, type FormEvent } from 'react';
import { ApiError, consulJson } from '../core/http.ts';
import { checkPath, useIntentions, type Intention } from '../core/intentions.ts';
import { useBlocking } from '../core/blocking.ts';
import { Empty, ErrorBox, Section } from '../components/states.tsx';

function exactPath(source: string, destination: string): string {
  return `/v1/connect/intentions/exact?source=${encodeURIComponent(source)}&destination=${encodeURIComponent(destination)}`;
}

function ServiceInput({ label, value, onChange, listId }: { label: string; value: string; onChange: (v: string) => void; listId: string }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} list={listId} value={value} onChange={(e) => onChange(e.target.value)} required />
    </span>
  );
}

function Editor({ listId, initial, onDone }: { listId: string; initial?: Intention; onDone: () => void }) {
  const [source, setSource] = useState(initial?.SourceName ?? '');
  const [destination, setDestination] = useState(initial?.DestinationName ?? '');
  const [action, setAction] = useState(initial?.Action ?? 'allow');
  const [description, setDescription] = useState(initial?.Description ?? '');
  const [error, setError] = useState<Error>();
  const actionId = useId();
  const descId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await consulJson(exactPath(source.trim(), destination.trim()), {
        method: 'PUT',
        body: { SourceName: source.trim(), DestinationName: destination.trim(), Action: action, Description: description },
      });
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <form className="card" aria-label="Intention editor" onSubmit={(e) => void submit(e)}>
      <h2>{initial ? `Edit ${initial.SourceName} → ${initial.DestinationName}` : 'New intention'}</h2>
      <div className="row">
        <ServiceInput label="Source" value={source} onChange={setSource} listId={listId} />
        <ServiceInput label="Destination" value={destination} onChange={setDestination} listId={listId} />
        <span className="field">
          <label htmlFor={actionId}>Action</label>
          <select id={actionId} value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
        </span>
        <span className="field grow">
          <label htmlFor={descId}>Description</label>
          <input id={descId} value={description} onChange={(e) => setDescription(e.target.value)} />
        </span>
      </div>
      {error && <ErrorBox error={error} what="the intention" action="save" />}
      <div className="row">
        <button type="submit">Save</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

function CanReach({ listId }: { listId: string }) {
  const [source, setSource] = useState('');
  const [destination, setDestination] = useState('');
  const [answer, setAnswer] = useState<{ source: string; destination: string; allowed: boolean }>();
  const [error, setError] = useState<ApiError | Error>();
  const ask = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setAnswer(undefined);
    try {
      const res = await consulJson<{ Allowed: boolean }>(checkPath(source.trim(), destination.trim()));
      setAnswer({ source: source.trim(), destination: destination.trim(), allowed: res.Allowed });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <form className="card" aria-label="Can A reach B?" onSubmit={(e) => void ask(e)}>
      <h2>Can A reach B?</h2>
      <div className="row">
        <ServiceInput label="Source (A)" value={source} onChange={setSource} listId={listId} />
        <ServiceInput label="Destination (B)" value={destination} onChange={setDestination} listId={listId} />
        <button type="submit">Ask the server</button>
      </div>
      {answer && (
        <p role="status" className={answer.allowed ? 'ok' : 'warn'} data-allowed={String(answer.allowed)}>
          {answer.source} {answer.allowed ? 'can' : 'cannot'} reach {answer.destination}.
        </p>
      )}
      {error && <ErrorBox error={error} what="the answer" action="get" />}
    </form>
  );
}

export function IntentionsPage() {
  const intentions = useIntentions();
  const services = useBlocking<Record<string, string[]>>('/v1/catalog/services');
  const listId = useId();
  const [editing, setEditing] = useState<Intention | 'new'>();
  const [error, setError] = useState<Error>();
  const remove = async (it: Intention) => {
    if (!confirm(`Delete the intention ${it.SourceName} → ${it.DestinationName}?`)) return;
    try {
      await consulJson(exactPath(it.SourceName, it.DestinationName), { method: 'DELETE' });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <>
      <h1 tabIndex={-1}>Intentions</h1>
      <datalist id={listId}>{Object.keys(services.data ?? {}).map((s) => <option key={s} value={s} />)}<option value="*" /></datalist>
      <CanReach listId={listId} />
      {editing ? (
        <Editor key={editing === 'new' ? 'new' : `${editing.SourceName}→${editing.DestinationName}`} listId={listId} {...(editing === 'new' ? {} : { initial: editing })} onDone={() => setEditing(undefined)} />
      ) : (
        <p><button type="button" onClick={() => setEditing('new')}>New intention</button></p>
      )}
      {error && <ErrorBox error={error} what="the intention" action="save" />}
      <Section live={intentions} what="intentions">
        {(list) => list.length === 0 ? <Empty>No intentions: every connection gets the default decision.</Empty> : (
          <table className="list" aria-label="Intentions">
            <thead><tr><th scope="col">Source</th><th scope="col">Destination</th><th scope="col">Action</th><th scope="col">Precedence</th><th scope="col">Description</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {list.map((it) => (
                <tr key={`${it.SourceName}→${it.DestinationName}`} data-intention={`${it.SourceName}→${it.DestinationName}`}>
                  <td>{it.SourceName}</td>
                  <td>{it.DestinationName}</td>
                  <td>{it.Action ? <span className={`badge ${it.Action}`}>{it.Action}</span> : <span className="badge">L7 rules ({it.Permissions?.length ?? 0})</span>}</td>
                  <td>{it.Precedence ?? '—'}</td>
                  <td>{it.Description || '—'}</td>
                  <td className="actions">
                    <button type="button" onClick={() => setEditing(it)} disabled={!it.Action} aria-label={`Edit ${it.SourceName} to ${it.DestinationName}`}>Edit</button>
                    <button type="button" className="danger" onClick={() => void remove(it)} aria-label={`Delete ${it.SourceName} to ${it.DestinationName}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
