import { useState } from 'react';
import YAML from 'yaml';

/** The spec as the server normalized it, as YAML (how most people write it) or JSON (what the API takes). */
export function SpecTab({ spec }: { spec: unknown }) {
  const [format, setFormat] = useState<'yaml' | 'json'>('yaml');
  const text = format === 'yaml' ? YAML.stringify(spec) : JSON.stringify(spec, null, 2);
  return (
    <section className="stack">
      <fieldset className="toggle">
        <legend className="sr-only">Format</legend>
        {(['yaml', 'json'] as const).map((f) => (
          <label key={f}>
            <input type="radio" name="spec-format" value={f} checked={format === f} onChange={() => setFormat(f)} />
            {f.toUpperCase()}
          </label>
        ))}
      </fieldset>
      <pre className="code" aria-label={`Spec as ${format.toUpperCase()}`} tabIndex={0}>
        {text}
      </pre>
    </section>
  );
}
