/**
 * Create an experiment from a spec typed or uploaded: YAML or JSON, a Periscope (Submarine) ExperimentSpec or
 * a Determined config (converted in the browser, as the CLI does). Loaded on its own: YAML and the converter
 * are only for those who create.
 */
import { useState, type ChangeEvent, type FormEvent } from 'react';
import YAML from 'yaml';
import { fromDeterminedConfig } from '@periscope/core/determined';
import type { ExperimentSpec } from '@periscope/sdk';
import { periscope } from '../api';
import { navigate } from '../router';
import { actionError } from '../use-load';

const EXAMPLE = `meta:
  name: hello
  framework: Custom
  cmd: echo hello from $PERISCOPE_EXECUTOR
spec:
  Worker:
    replicas: 1
    resources: cpu=1,memory=256M
`;

interface Problem {
  message: string;
  /** The field the message names (`spec/Worker/resources`, `meta.name`), shown on its own. */
  field: string | undefined;
}

/** Server and validation messages start with the field they are about: "spec/Worker/resources: …". */
function fieldOf(message: string): string | undefined {
  return /^([A-Za-z_][\w.[\]/-]*): /.exec(message)?.[1];
}

/** The text as an ExperimentSpec, and any warnings from converting a Determined config. */
function parseSpec(text: string): { spec: ExperimentSpec; warnings: string[] } {
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (error) {
    // YAML's messages say where: "… at line 3, column 5".
    throw new Error(`Syntax error: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('The spec must be a mapping (an object), with meta and spec, or a Determined config with entrypoint');
  if ('entrypoint' in value) return fromDeterminedConfig(value as Record<string, unknown>);
  return { spec: value as ExperimentSpec, warnings: [] };
}

export function CreatePage() {
  const [text, setText] = useState(EXAMPLE);
  const [problem, setProblem] = useState<Problem>();
  const [warnings, setWarnings] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) setText(await file.text());
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    setWarnings([]);
    let parsed: { spec: ExperimentSpec; warnings: string[] };
    try {
      parsed = parseSpec(text);
    } catch (error) {
      const message = (error as Error).message;
      setProblem({ message, field: fieldOf(message) });
      return;
    }
    setWarnings(parsed.warnings);
    setBusy(true);
    try {
      const experiment = await periscope().experiments.create(parsed.spec);
      navigate(`/experiments/${encodeURIComponent(experiment.experimentId)}`);
    } catch (error) {
      const message = actionError(error);
      if (message) setProblem({ message, field: fieldOf(message) });
      setBusy(false);
    }
  };

  return (
    <section className="create">
      <h1>Create an experiment</h1>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <label className="stack">
          Spec (YAML or JSON)
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={22} spellCheck={false} className="mono" />
        </label>
        <div className="filters">
          <label>
            Upload spec
            <input type="file" accept=".yaml,.yml,.json,application/json,text/yaml" onChange={(e) => void upload(e)} />
          </label>
          <span className="spacer" />
          <button type="submit" className="primary" disabled={busy}>
            Submit
          </button>
        </div>
        <p className="muted">
          A Periscope spec (<code>meta</code>, <code>environment</code>, <code>spec</code>, <code>code</code>) as Submarine takes it, or a Determined config
          (with <code>entrypoint</code>), which is converted here.
        </p>
      </form>
      {problem && (
        <div role="alert" className="error problem">
          {problem.field && (
            <p>
              Field: <strong className="mono field-name">{problem.field}</strong>
            </p>
          )}
          <p>{problem.message}</p>
        </div>
      )}
      {warnings.length > 0 && (
        <div className="card">
          <h2>Converted from a Determined config</h2>
          <ul>
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
