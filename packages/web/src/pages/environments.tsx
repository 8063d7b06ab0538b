import { periscope } from '../api';
import { Alert } from '../components/alert';
import { useLoad } from '../use-load';

export function EnvironmentsPage() {
  const environments = useLoad((signal) => periscope().environments.list({ signal }), []);
  return (
    <section>
      <h1>Environments</h1>
      <Alert message={environments.error} />
      <div className="table-wrap">
        <table aria-label="Environments" className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Image</th>
              <th scope="col">Description</th>
              <th scope="col">Kernel</th>
            </tr>
          </thead>
          <tbody>
            {environments.data?.map((e) => {
              const spec = e.environmentSpec;
              return (
                <tr key={e.environmentId}>
                  <td title={e.environmentId}>{spec.name ?? e.environmentId}</td>
                  <td className="mono">{spec.image ?? '—'}</td>
                  <td>{spec.description ?? '—'}</td>
                  <td className="ellipsis mono">{spec.kernelSpec ? JSON.stringify(spec.kernelSpec) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {environments.data?.length === 0 && <p className="empty">No environments.</p>}
      </div>
    </section>
  );
}
