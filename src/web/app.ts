/** The web client's entry: the sign-in screen, or the file browser once signed in. */
import { announce, h, show } from './dom.js';
import { FilesView } from './files-view.js';
import { Link, LinkError } from './link.js';
import { currentUser, signIn, signOut, type Me } from './session.js';

const main = document.getElementById('main') as HTMLElement;

async function start(): Promise<void> {
  try {
    const me = await currentUser();
    if (me) await openFiles(me);
    else signInScreen();
  } catch (err) {
    signInScreen();
    announce((err as Error).message, 'error');
  }
}

function signInScreen(notice?: string): void {
  document.title = 'Sign in · lpf';
  const user = h('input', {
    id: 'user',
    name: 'user',
    autocomplete: 'username',
    required: true,
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = async (kind: 'login' | 'register') => {
    if (!user.value || !password.value) return announce('Enter a user name and a password.', 'error');
    announce(kind === 'login' ? 'Signing in…' : 'Creating the account…');
    try {
      const me = await signIn(kind, user.value, password.value);
      announce('', 'error');
      await openFiles(me);
    } catch (err) {
      announce('');
      announce((err as Error).message, 'error');
      password.focus();
    }
  };
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title', onsubmit: (e) => (e.preventDefault(), void submit('login')) },
    h('h1', { id: 'sign-in-title' }, 'Sign in to lpf'),
    h('label', { for: 'user' }, 'User name'),
    user,
    h('label', { for: 'password' }, 'Password'),
    password,
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
      h('button', { type: 'button', onclick: () => void submit('register') }, 'Create account'),
    ),
  );
  show(main, form);
  announce(notice ?? '');
  user.focus();
}

async function openFiles(me: Me): Promise<void> {
  let link: Link;
  try {
    ({ link } = await Link.open());
  } catch (err) {
    return signInScreen(sessionEnded(err) ? 'Your session has ended; sign in again.' : (err as Error).message);
  }
  let opening: Promise<Link> | undefined;
  // The server ends a connection idle for a while: the next command opens another, with the same session.
  const current = async (): Promise<Link> => {
    if (!link.lost) return link;
    opening ??= Link.open().then(
      (opened) => ((link = opened.link), (opening = undefined), link),
      (err: unknown) => {
        opening = undefined;
        if (sessionEnded(err)) signInScreen('Your session has ended; sign in again.');
        throw err;
      },
    );
    return opening;
  };
  const logOut = async () => {
    try {
      await signOut(me);
    } catch (err) {
      return announce((err as Error).message, 'error');
    }
    link.close();
    signInScreen('You are signed out.');
  };
  const view = new FilesView(current, me, () => void logOut());
  show(main, view.element);
  document.title = 'Files · lpf';
  await view.open('');
}

function sessionEnded(err: unknown): boolean {
  return err instanceof LinkError && (err.code === 'LPF_ERR_SESSION' || err.code === 'LPF_ERR_CONNECTION_LOST');
}

void start();
