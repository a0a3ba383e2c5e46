// PATH_PREFIX (contract §7) for the web pages: a page asked for under the prefix links under it too, so a registrar
// placed at https://site/registrar/ keeps visitors there. The templates write root-relative URLs ("/server/x",
// "/assets/…", the feed's "/v1/feed"); this moves exactly those under the prefix.
import { trustedHtml, type SafeHtml } from "./html.js";

/**
 * Only URL attributes the templates write start with `="/`: record text is escaped (a quote becomes &quot;), and
 * a record's links (icon, web_url) are absolute https URLs. `//host` (scheme-relative) is left alone.
 */
const ROOT_RELATIVE = /(\s(?:href|src|action|data-feed)=")\/(?!\/)/g;

export function underPrefix(page: SafeHtml, prefix: string): SafeHtml {
  return prefix === "" ? page : trustedHtml(page.text.replace(ROOT_RELATIVE, `$1${prefix}/`));
}
