/** The experiment's checkpoints, each downloadable and registrable as a model version. */
import { Fragment, useState, type FormEvent } from 'react';
import { isNotFound, type Checkpoint, type Trial } from '@periscope/sdk';
import { periscope } from '../../api';
import { Alert } from '../../components/alert';
import { bytes, compact, dateTime } from '../../format';
import { Link } from '../../router';
import { actionError, useLoad } from '../../use-load';

export function CheckpointsTab({ trials, version }: { trials: Trial[] | undefined; version: number }) {
  const ids = trials?.map((t) => t.id).join(',') ?? '';
  const checkpoints = useLoad<Checkpoint[]>(
    async (signal) => {
      const lists = await Promise.all((trials ?? []).map(async (t) => (await periscope().getTrial(t.id, { signal })).getCheckpoints({ signal })));
      return lists.flat().sort((a, b) => b.reportTime.localeCompare(a.reportTime));
    },
    [ids, version],
  );
  const [registering, setRegistering] = useState<string>();
  const numberOf = new Map(trials?.map((t) => [t.id, t.number]));

  if (!trials || !checkpoints.data) return checkpoints.error ? <Alert message={checkpoints.error} /> : <p className="page-status">Loading…</p>;
  if (checkpoints.data.length === 0) return <p className="empty">No checkpoints reported yet.</p>;
  return (
    <div className="table-wrap">
      <Alert message={checkpoints.error} />
      <table aria-label="Checkpoints" className="grid checkpoints">
        <thead>
          <tr>
            <th scope="col">Checkpoint</th>
            <th scope="col" className="num">Trial</th>
            <th scope="col" className="num">Steps</th>
            <th scope="col">State</th>
            <th scope="col" className="num">Size</th>
            <th scope="col">Metadata</th>
            <th scope="col">Reported</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {checkpoints.data.map((c) => (
            <Fragment key={c.uuid}>
              <tr>
                <td className="mono" title={c.uuid}>
                  {c.uuid.slice(0, 8)}
                </td>
                <td className="num">{numberOf.get(c.trialId) ?? c.trialId}</td>
                <td className="num">{c.stepsCompleted}</td>
                <td>{c.state}</td>
                <td className="num">{bytes(Object.values(c.resources).reduce((a, b) => a + b, 0))}</td>
                <td className="ellipsis mono" title={JSON.stringify(c.metadata, null, 2)}>
                  {Object.keys(c.metadata).length ? compact(c.metadata) : '—'}
                </td>
                <td>{dateTime(c.reportTime)}</td>
                <td className="row">
                  {c.state === 'COMPLETED' && (
                    <a href={`/api/v1/checkpoints/${encodeURIComponent(c.uuid)}/download`} download={`${c.uuid}.tar`}>
                      Download
                    </a>
                  )}
                  <button type="button" onClick={() => setRegistering(registering === c.uuid ? undefined : c.uuid)} aria-expanded={registering === c.uuid}>
                    Register
                  </button>
                </td>
              </tr>
              {registering === c.uuid && (
                <tr>
                  <td colSpan={8}>
                    <RegisterForm uuid={c.uuid} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Registers the checkpoint as the next version of a model, creating the model when the name is new. */
function RegisterForm({ uuid }: { uuid: string }) {
  const models = useLoad((signal) => periscope().models.list({ signal }), []);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<{ model: string; version: number }>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const modelName = name.trim();
    if (!modelName) return;
    setBusy(true);
    setError(undefined);
    try {
      const model = await periscope()
        .models.get(modelName)
        .catch((e: unknown) => {
          if (isNotFound(e)) return periscope().models.create(modelName);
          throw e;
        });
      const version = await model.registerVersion(uuid);
      setDone({ model: model.name, version: version.version });
    } catch (e) {
      setError(actionError(e));
    } finally {
      setBusy(false);
    }
  };

  const listId = `models-${uuid}`;
  return (
    <form className="filters" onSubmit={(e) => void submit(e)}>
      <label>
        Model
        <input list={listId} value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        <datalist id={listId}>
          {models.data?.map((m) => (
            <option key={m.id} value={m.name} />
          ))}
        </datalist>
      </label>
      <button type="submit" className="primary" disabled={busy}>
        Register version
      </button>
      {done && (
        <p role="status">
          Registered as version {done.version} of <Link to={`/models/${encodeURIComponent(done.model)}`}>{done.model}</Link>.
        </p>
      )}
      <Alert message={error} />
    </form>
  );
}
