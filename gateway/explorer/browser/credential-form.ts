// Sign-in for gateways that require credentials: the user pastes an API key or token once per tab.
// The demo lets local callers in without one, so the form starts folded.
import { byId } from './dom.ts';
import { credential, setCredential } from './gateway-client.ts';

export function mountCredentialForm(): void {
  const form = byId('credential-form') as HTMLFormElement;
  const input = byId('credential-input') as HTMLInputElement;
  const state = byId('credential-state');
  const show = (): void => {
    state.textContent = credential() === null ? 'Not signed in (anonymous)' : 'Signed in with a key';
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setCredential(input.value);
    input.value = '';
    show();
    location.reload();
  });
  byId('credential-clear').addEventListener('click', () => {
    setCredential(null);
    show();
    location.reload();
  });
  show();
}
