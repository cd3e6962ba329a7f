// What the standalone pages (dialplan editor, supervisor view) share: the JSON API
// call with the session cookie, and their two languages.

export const $ = (sel) => document.querySelector(sel);

/** Calls the API; a non-2xx answer throws an Error with `status` and `data`. */
export async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error(data?.error?.message || res.statusText), { status: res.status, data });
  return data;
}

/** The page's language (remembered, else the browser's) and its text lookup
 * `t(key, {name: value})` over `TEXT = {en: {...}, zh: {...}}`. */
export function languages(TEXT) {
  const state = { lang: localStorage.getItem("lang") || (navigator.language.startsWith("zh") ? "zh" : "en") };
  state.t = (k, vars = {}) => Object.entries(vars).reduce((s, [name, v]) => s.replace(`{${name}}`, v),
    (TEXT[state.lang] && TEXT[state.lang][k]) || TEXT.en[k] || k);
  state.apply = () => {
    document.documentElement.lang = state.lang;
    $("#lang").value = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = state.t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = state.t(el.dataset.i18nPlaceholder); });
  };
  state.set = (lang) => { state.lang = lang; localStorage.setItem("lang", lang); state.apply(); };
  return state;
}
