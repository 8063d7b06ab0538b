/** The model registry: filtered by name (in the URL), archived ones on request. */
import { useEffect, useState } from 'react';
import { periscope } from '../api';
import { Alert } from '../components/alert';
import { navigate, useLocation, withQuery, Link } from '../router';
import { useDebounced, useLoad } from '../use-load';

export function ModelsPage() {
  const { path, query } = useLocation();
  const name = query.get('name') ?? '';
  const showArchived = query.get('archived') === '1';
  const [nameInput, setNameInput] = useState(name);
  const typed = useDebounced(nameInput, 250);
  useEffect(() => {
    if (typed !== name) navigate(withQuery(path, query, { name: typed }), { replace: true });
  }, [typed]);
  useEffect(() => setNameInput(name), [name]);

  const models = useLoad((signal) => periscope().models.list({ signal, ...(name && { name }), ...(!showArchived && { archived: false }) }), [name, showArchived]);

  return (
    <section>
      <h1>Models</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name
          <input type="search" value={nameInput} onChange={(e) => setNameInput(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={showArchived} onChange={(e) => navigate(withQuery(path, query, { archived: e.target.checked ? '1' : null }), { replace: true })} />
          Show archived
        </label>
      </form>
      <Alert message={models.error} />
      <div className="table-wrap">
        <table aria-label="Models" className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Labels</th>
              <th scope="col" className="num">Versions</th>
              <th scope="col">Archived</th>
              <th scope="col">Owner</th>
            </tr>
          </thead>
          <tbody>
            {models.data?.map((m) => (
              <tr key={m.id}>
                <td className="ellipsis">
                  <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                </td>
                <td className="ellipsis">{m.description || '—'}</td>
                <td className="ellipsis">{m.labels.length ? m.labels.map((l) => <span key={l} className="chip">{l}</span>) : '—'}</td>
                <td className="num">{m.numVersions}</td>
                <td>{m.archived ? 'yes' : 'no'}</td>
                <td>{m.owner ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {models.data?.length === 0 && <p className="empty">No models{name ? ' match' : ' yet: register a checkpoint from an experiment'}.</p>}
      </div>
    </section>
  );
}
