import { $ } from './dom.js';

/**
 * The confirm dialog every action goes through: resolves true (or the typed text when `input` is asked for) on OK,
 * false on Cancel or Escape.
 */
export function confirmDialog(text, { ok = 'OK', input, danger = false } = {}) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-ok').className = danger ? 'danger' : 'primary';
  $('confirm-input-label').hidden = input === undefined;
  $('confirm-input-name').textContent = input ?? '';
  $('confirm-input').value = '';
  $('confirm-input').required = input !== undefined;
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'ok') resolve(false);
        else resolve(input === undefined ? true : $('confirm-input').value.trim());
      },
      { once: true },
    );
    dialog.returnValue = '';
    dialog.showModal();
  });
}
