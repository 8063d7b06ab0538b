/** One model: what it is, its labels and metadata (editable), archiving, and its versions. */
import { useEffect, useState, type FormEvent } from 'react';
import type { Model } from '@periscope/sdk';
import { periscope } from '../api';
import { Alert } from '../components/alert';
import { dateTime } from '../format';
import { Link } from '../router';
import { actionError, useLoad } from '../use-load';

export function ModelPage({ name }: { name: string }) {
  const model = useLoad((signal) => periscope().models.get(name, { signal }), [name]);
  const versions = useLoad(async (signal) => (await periscope().models.get(name, { signal })).getVersions('desc', { signal }), [name]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  /** Runs a change on the model, then shows the model as the server answered it. */
  const change = async (action: (m: Model) => Promise<void>) => {
    const m = model.data;
    if (!m) return;
    setBusy(true);
    setError(undefined);
    try {
      await action(m);
      await model.reload();
    } catch (e) {
      setError(actionError(e));
    } finally {
      setBusy(false);
    }
  };

  if (!model.data) return model.error ? <Alert message={model.error} /> : <p className="page-status">Loading…</p>;
  const m = model.data;
  return (
    <section className="stack">
      <div className="page-head">
        <h1>{m.name}</h1>
        {m.archived && <span className="badge status-deleted">Archived</span>}
        <span className="spacer" />
        <button type="button" disabled={busy} onClick={() => void change((x) => (x.archived ? x.unarchive() : x.archive()))}>
          {m.archived ? 'Unarchive' : 'Archive'}
        </button>
      </div>
      <Alert message={error} />
      <p>{m.description || <span className="muted">No description.</span>}</p>
      <p className="muted">
        Owner {m.owner ?? '—'} · workspace {m.workspace} · created {dateTime(m.creationTime)} · updated {dateTime(m.lastUpdatedTime)}
      </p>
      <LabelsEditor labels={m.labels} busy={busy} onSave={(labels) => void change((x) => x.setLabels(labels))} />
      <MetadataEditor metadata={m.metadata} busy={busy} onAdd={(metadata) => void change((x) => x.addMetadata(metadata))} />
      <h2>Versions</h2>
      <Alert message={versions.error} />
      <div className="table-wrap">
        <table aria-label="Versions" className="grid">
          <thead>
            <tr>
              <th scope="col" className="num">Version</th>
              <th scope="col">Checkpoint</th>
              <th scope="col">Trial</th>
              <th scope="col">Registered</th>
            </tr>
          </thead>
          <tbody>
            {versions.data?.map((v) => (
              <tr key={v.version}>
                <td className="num">{v.version}</td>
                <td className="mono">
                  <a href={`/api/v1/checkpoints/${encodeURIComponent(v.checkpoint.uuid)}/download`} title="Download">
                    {v.checkpoint.uuid}
                  </a>
                </td>
                <td>
                  <Link to={`/experiments/${encodeURIComponent(v.checkpoint.experimentId)}?tab=checkpoints`}>trial {v.checkpoint.trialId}</Link>
                </td>
                <td>{dateTime(v.creationTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {versions.data?.length === 0 && <p className="empty">No versions yet.</p>}
      </div>
    </section>
  );
}

function LabelsEditor({ labels, busy, onSave }: { labels: string[]; busy: boolean; onSave: (labels: string[]) => void }) {
  const [text, setText] = useState(labels.join(', '));
  useEffect(() => setText(labels.join(', ')), [labels]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSave([...new Set(text.split(',').map((l) => l.trim()).filter(Boolean))]);
  };
  return (
    <form className="filters" onSubmit={submit}>
      <label className="grow">
        Labels (comma-separated)
        <input value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Save labels
      </button>
    </form>
  );
}

function MetadataEditor({ metadata, busy, onAdd }: { metadata: Record<string, unknown>; busy: boolean; onAdd: (metadata: Record<string, unknown>) => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('metadata: give a JSON object, e.g. {"dataset": "v2"}');
      setError(undefined);
      onAdd(value as Record<string, unknown>);
      setText('');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section className="stack">
      <h2>Metadata</h2>
      <pre className="code" tabIndex={0} aria-label="Metadata">
        {JSON.stringify(metadata, null, 2)}
      </pre>
      <form className="filters" onSubmit={submit}>
        <label className="grow">
          Add metadata (JSON object, merged)
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder='{"dataset": "v2"}' className="mono" />
        </label>
        <button type="submit" disabled={busy || !text.trim()}>
          Add metadata
        </button>
      </form>
      <Alert message={error} />
    </section>
  );
}
