import { ValidationError, type CodeSpec, type NormalizedExperimentSpec } from '@periscope/core';
import { urlPassword, urlPasswordScope, withUrlPassword } from '../code/git-url.js';
import { SecretBox } from '../secrets/secret-box.js';

/**
 * What a stored git password is shown as, in `code.git.password` and in place of the password of a URL's
 * userinfo (`https://user:******@host/…`); a PATCH that sends it back keeps the stored one.
 */
export const REDACTED = '******';

type Code = NonNullable<NormalizedExperimentSpec['code']>;

/** The spec as answers show it: every git password (field or URL userinfo) replaced by ******. */
export function redactSpec(spec: NormalizedExperimentSpec): NormalizedExperimentSpec {
  const code = spec.code;
  if (code == null) return spec;
  const redacted = mapSecrets(code, () => REDACTED);
  return redacted === code ? spec : { ...spec, code: redacted };
}

/**
 * The spec as the store keeps it: every git password (in `code.git.password` and inside `code.url` /
 * `code.git.url`) sealed with the server's key. A ****** sent back (a PATCH of what GET answered) takes the
 * password stored in `stored` for the same field. Anything else the client sends is sealed, even text that
 * looks sealed already: a client must never get the server to open a sealed value it copied from elsewhere.
 */
export function sealSpec(box: SecretBox, spec: NormalizedExperimentSpec, stored?: NormalizedExperimentSpec): NormalizedExperimentSpec {
  const code = spec.code;
  if (code == null) return spec;
  const keep = (value: string) => (SecretBox.isSealed(value) ? value : box.seal(value));
  let git = code.git;
  if (git != null) {
    let password = git.password;
    if (password === REDACTED) {
      const kept = stored?.code?.git?.password;
      password = kept == null ? null : keep(kept);
    } else if (password != null && password !== '') {
      password = box.seal(password);
    }
    const url = sealUrl(box, git.url, 'code.git.url', [stored?.code?.git?.url, stored?.code?.url]);
    if (password !== git.password || url !== git.url) git = { ...git, password, url };
  }
  const url = code.url == null ? code.url : sealUrl(box, code.url, 'code.url', [stored?.code?.url, stored?.code?.git?.url]);
  if (git === code.git && url === code.url) return spec;
  return { ...spec, code: { ...code, ...(url != null && { url }), ...(git != null && { git }) } };

  function sealUrl(box: SecretBox, url: string, field: string, storedUrls: Array<string | null | undefined>): string {
    const found = urlPassword(url);
    if (!found) return url;
    if (found.password !== REDACTED) return found.before + box.seal(found.password) + found.after;
    const scope = urlPasswordScope(url);
    const same = storedUrls.find((candidate) => candidate != null && urlPasswordScope(candidate) === scope);
    if (same == null) {
      throw new ValidationError(
        `${field}: ${REDACTED} stands for the stored password of ${scope}, and this experiment has none for that user and host; send the password itself`,
        field,
      );
    }
    return found.before + keep(urlPassword(same)!.password) + found.after;
  }
}

/** The code spec with every git password opened, for the clone and nothing else; clear (older) values pass. */
export function openCode(box: SecretBox, code: CodeSpec): CodeSpec {
  return mapSecrets(code, (secret) => box.open(secret));
}

/** `code` with `change` applied to each git password it holds; the same object when it holds none. */
function mapSecrets<T extends CodeSpec | Code>(code: T, change: (secret: string) => string): T {
  let git = code.git;
  if (git != null) {
    const password = git.password == null || git.password === '' ? git.password : change(git.password);
    const url = withUrlPassword(git.url, change);
    if (password !== git.password || url !== git.url) git = { ...git, password, url };
  }
  const url = code.url == null ? code.url : withUrlPassword(code.url, change);
  if (git === code.git && url === code.url) return code;
  return { ...code, ...(url != null && { url }), ...(git != null && { git }) };
}
