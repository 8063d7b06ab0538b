/** Light or dark: the system's preference until the user picks one, which is then remembered. */
export type Theme = 'light' | 'dark';

const KEY = 'periscope-theme';

function saved(): Theme | undefined {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : undefined;
  } catch {
    return undefined; // storage blocked (privacy mode): fall back to the system's choice
  }
}

export function currentTheme(): Theme {
  return (document.documentElement.dataset.theme as Theme | undefined) ?? 'light';
}

export function applyTheme(): void {
  document.documentElement.dataset.theme = saved() ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

export function toggleTheme(): Theme {
  const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // not remembered, still applied
  }
  window.dispatchEvent(new Event('periscope-theme'));
  return next;
}

/** Charts read colours from CSS variables; they redraw on this event. */
export function onThemeChange(listener: () => void): () => void {
  window.addEventListener('periscope-theme', listener);
  return () => window.removeEventListener('periscope-theme', listener);
}

export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
