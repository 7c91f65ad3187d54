// Dark mode: follows the system (`prefers-color-scheme`) until the toggle is used; the choice is
// remembered in localStorage (`tessera.theme`).
const KEY = 'tessera.theme';

export function initTheme(onChange: () => void): void {
  const root = document.documentElement;
  const button = document.getElementById('theme') as HTMLButtonElement;
  const media = matchMedia('(prefers-color-scheme: dark)');
  const apply = (theme: string) => {
    root.dataset.theme = theme;
    button.setAttribute('aria-pressed', String(theme === 'dark'));
    button.textContent = theme === 'dark' ? 'Light mode' : 'Dark mode';
    onChange();
  };
  apply(localStorage.getItem(KEY) ?? (media.matches ? 'dark' : 'light'));
  media.addEventListener('change', (e) => { if (!localStorage.getItem(KEY)) apply(e.matches ? 'dark' : 'light'); });
  const toggle = () => {
    const next = root.dataset.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(KEY, next);
    apply(next);
  };
  button.addEventListener('click', toggle);
  document.addEventListener('keydown', (e) => {
    if (e.altKey && e.key.toLowerCase() === 'd') { e.preventDefault(); toggle(); }
  });
}
