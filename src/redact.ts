/**
 * A database URL as it may appear in a message: the password in its userinfo
 * and the values of secret-looking query parameters (`authToken`, `password`,
 * `sslkey`…) replaced by `***`. Works on strings the URL parser refuses, since
 * those are exactly the URLs an error message has to name.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!m) return redactQuery(url);
  const [, scheme, authority, rest] = m;
  const at = authority.lastIndexOf("@");
  let safe = authority;
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    safe = colon === -1 ? authority : `${userinfo.slice(0, colon)}:***${authority.slice(at)}`;
  }
  return scheme + safe + redactQuery(rest);
}

function redactQuery(text: string): string {
  return text.replace(/([?&;][^=&#]*(?:pass|token|secret|key|auth)[^=&#]*=)[^&#]*/gi, "$1***");
}
