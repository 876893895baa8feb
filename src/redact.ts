/**
 * A database URL as it may appear in a message: the password in its userinfo
 * and the values of secret-looking query parameters (`authToken`, `password`,
 * `sslkey`…) replaced by `***`. Works on strings the URL parser refuses, since
 * those are exactly the URLs an error message has to name.
 */
export function redactUrl(url: string): string {
  const parts = urlParts(url);
  if (!parts) return redactQuery(url);
  const { scheme, user, password, host, rest } = parts;
  const userinfo = password === null ? (user === null ? "" : `${user}@`) : `${user}:***@`;
  return scheme + userinfo + host + redactQuery(rest);
}

/** host[:port] of a URL (several hosts comma-separated), never its credentials; undefined without `scheme://`. */
export function urlHost(url: string): string | undefined {
  return urlParts(url)?.host;
}

/** The password as written in the URL (still percent-encoded), or null when it has none. */
export function urlPassword(url: string): string | null {
  return urlParts(url)?.password ?? null;
}

/**
 * Whether the password holds a `/`, `?` or `#` that is not percent-encoded: URL
 * parsers end the host there, so they read the password as a host or a port
 * and quote it in their errors.
 */
export function hasUnencodedPassword(url: string): boolean {
  return urlParts(url)?.unencoded ?? false;
}

interface UrlParts {
  scheme: string;
  user: string | null;
  password: string | null;
  host: string;
  rest: string;
  unencoded: boolean;
}

/** `host[:port]` items, comma-separated; IPv6 addresses in brackets. */
const HOST_LIST = /^(?:\[[^\]]*\]|[^:,[\]]*)(?::\d*)?(?:,(?:\[[^\]]*\]|[^:,[\]]*)(?::\d*)?)*$/;

function urlParts(url: string): UrlParts | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url);
  if (!m) return undefined;
  const [, scheme, afterScheme] = m;
  const end = afterScheme.search(/[/?#]/);
  const authority = end === -1 ? afterScheme : afterScheme.slice(0, end);
  let at = authority.lastIndexOf("@");
  let unencoded = false;
  if (at === -1) {
    // `user:pa/ss@host`: a parser ends the authority at the `/`, but the password goes on to an `@`
    // further right. Unless the authority reads as hosts and ports (`host:5432/db?x=a@b`), everything up
    // to the last `@` is taken for credentials: hiding too much beats showing a password.
    const later = afterScheme.lastIndexOf("@");
    if (later > authority.length && authority.includes(":") && !HOST_LIST.test(authority)) {
      at = later;
      unencoded = true;
    }
  }
  if (at === -1) {
    return {
      scheme,
      user: null,
      password: null,
      host: authority,
      rest: afterScheme.slice(authority.length),
      unencoded,
    };
  }
  const userinfo = afterScheme.slice(0, at);
  const tail = afterScheme.slice(at + 1);
  const hostEnd = tail.search(/[/?#]/);
  const host = hostEnd === -1 ? tail : tail.slice(0, hostEnd);
  const colon = userinfo.indexOf(":");
  return {
    scheme,
    user: colon === -1 ? userinfo : userinfo.slice(0, colon),
    password: colon === -1 ? null : userinfo.slice(colon + 1),
    host,
    rest: tail.slice(host.length),
    unencoded,
  };
}

function redactQuery(text: string): string {
  return text.replace(/([?&;][^=&#]*(?:pass|token|secret|key|auth)[^=&#]*=)[^&#]*/gi, "$1***");
}
