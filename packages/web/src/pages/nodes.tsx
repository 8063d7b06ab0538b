import { periscope } from '../api';
import { Alert } from '../components/alert';
import { StatusBadge } from '../components/status-badge';
import { megabytes } from '../format';
import { useLoad } from '../use-load';

export function NodesPage() {
  const nodes = useLoad((signal) => periscope().nodes.list({ signal }), []);
  return (
    <section>
      <div className="page-head">
        <h1>Nodes</h1>
        <span className="spacer" />
        <button type="button" onClick={() => void nodes.reload()}>
          Refresh
        </button>
      </div>
      <Alert message={nodes.error} />
      <div className="table-wrap">
        <table aria-label="Nodes" className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col" className="num">CPUs used / total</th>
              <th scope="col" className="num">Memory used / total</th>
              <th scope="col">GPUs</th>
              <th scope="col" className="num">Trials</th>
              <th scope="col">Labels</th>
            </tr>
          </thead>
          <tbody>
            {nodes.data?.map((n) => (
              <tr key={n.name}>
                <td>
                  {n.name} <span className="muted">{n.architecture}</span>
                </td>
                <td>
                  <StatusBadge status={n.state} />
                </td>
                <td className="num">
                  {Number(n.allocations.cpu.toFixed(2))} / {n.cpus}
                </td>
                <td className="num">
                  {megabytes(n.allocations.memoryMb)} / {megabytes(n.memoryMb)}
                </td>
                <td>
                  {n.gpus.length === 0
                    ? '—'
                    : n.gpus.map((g) => {
                        const used = n.allocations.gpus.includes(g.index);
                        return (
                          <span key={g.index} className={`chip ${used ? 'gpu-used' : ''}`} title={`${g.name}, ${megabytes(g.memoryMb)}${used ? ', allocated' : ', free'}`}>
                            {g.index}
                            {used ? ' (allocated)' : ''}
                          </span>
                        );
                      })}
                </td>
                <td className="num">
                  {n.allocations.runningTrials} running, {n.allocations.queuedTrials} queued
                </td>
                <td>
                  {Object.entries(n.labels).map(([k, v]) => (
                    <span key={k} className="chip">
                      {k}={v}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
