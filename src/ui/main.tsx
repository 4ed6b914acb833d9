/** Entry point: mounts the app and records when it first rendered (read by the browser test as "interactive"). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import './styles.css';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(<StrictMode><App /></StrictMode>);
  requestAnimationFrame(() => performance.mark('meshgate:interactive'));
}
