import { useState, type FormEvent } from 'react';
import { periscope } from '../api';
import { Alert } from '../components/alert';
import { dateTime } from '../format';
import { useSession } from '../session';
import { actionError, useLoad } from '../use-load';

export function UsersPage() {
  const { user: me } = useSession();
  const users = useLoad((signal) => periscope().users.list({ signal }), []);
  const [error, setError] = useState<string>();

  const update = async (username: string, changes: { admin?: boolean; active?: boolean }) => {
    setError(undefined);
    try {
      const updated = await periscope().users.update(username, changes);
      users.set((list) => list?.map((u) => (u.username === username ? updated : u)));
    } catch (e) {
      setError(actionError(e));
    }
  };

  return (
    <section className="stack">
      <h1>Users</h1>
      <Alert message={users.error ?? error} />
      <div className="table-wrap">
        <table aria-label="Users" className="grid">
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Admin</th>
              <th scope="col">Active</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => (
              <tr key={u.id}>
                <td>{u.username}</td>
                <td>{u.admin ? 'yes' : 'no'}</td>
                <td>{u.active ? 'yes' : 'no'}</td>
                <td>{dateTime(u.createdTime)}</td>
                <td className="row">
                  {u.username !== me.username && (
                    <>
                      <button type="button" onClick={() => void update(u.username, { admin: !u.admin })}>
                        {u.admin ? `Remove admin from ${u.username}` : `Make ${u.username} admin`}
                      </button>
                      <button type="button" onClick={() => void update(u.username, { active: !u.active })}>
                        {u.active ? `Deactivate ${u.username}` : `Activate ${u.username}`}
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <CreateUser onCreated={() => void users.reload()} />
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setCreated(undefined);
    try {
      const user = await periscope().users.create({ username, password, admin });
      setCreated(user.username);
      setUsername('');
      setPassword('');
      setAdmin(false);
      onCreated();
    } catch (e) {
      setError(actionError(e));
    }
  };

  return (
    <form className="card stack narrow" onSubmit={(e) => void submit(e)} aria-labelledby="new-user">
      <h2 id="new-user">New user</h2>
      <label>
        Username
        <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
      </label>
      <label>
        Password
        <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="new-password" />
      </label>
      <label className="check">
        <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
        Admin
      </label>
      <Alert message={error} />
      {created && <p role="status">Created {created}.</p>}
      <button type="submit" className="primary">
        Create user
      </button>
    </form>
  );
}
