// The interactive view: one screen at a time, chosen with a reducer-free bit of state.
import { useState } from 'react';
import type { ApiClient } from '../client.ts';
import { AccessExplorer, AuditTail, Dashboard, GrantEditor, ListScreen, type Screen } from './screens.tsx';
import type { Theme } from './theme.ts';

export function App({ api, theme, quit, initial = 'dashboard' }: { api: ApiClient; theme: Theme; quit: () => void; initial?: Screen }) {
  const [screen, go] = useState<Screen>(initial);
  const props = { api, theme, go, quit };
  switch (screen) {
    case 'people':
    case 'assistants':
    case 'grants':
      return <ListScreen {...props} which={screen} />;
    case 'grant-editor':
      return <GrantEditor {...props} />;
    case 'access':
      return <AccessExplorer {...props} />;
    case 'audit':
      return <AuditTail {...props} />;
    default:
      return <Dashboard {...props} />;
  }
}
