// docs/cli.md, generated from the command definitions themselves (`npm run cli:docs`), so the
// reference cannot drift from what `oc --help` says; a test fails when the file is stale.
import type { Command } from 'commander';
import type { CliIo } from './context.ts';
import { EXIT } from './errors.ts';
import { KEYS, keyLine } from './tui/keybindings.ts';
import { allCommands, buildProgram } from './program.ts';

const INTRO = `# \`oc\`: the OpenCrane command line

\`oc\` is a client of the REST API and nothing else: every command is a call any other client can make
(the typed client is generated from the control plane's OpenAPI document). This page is generated from
the command definitions by \`npm run cli:docs\`; \`oc <command> --help\` prints the same text.

## Getting started

\`\`\`sh
npm run oc -- login --url https://opencrane.example.com        # device flow: approve the code in your browser
npm run oc -- login --url http://127.0.0.1:8080 --token "$(cat .opencrane/admin-token)" --name local
npm run oc -- people list
npm run oc                                                     # the interactive view (in a terminal)
\`\`\`

- **Where it connects.** \`--url\`, else \`OPENCRANE_URL\`, else the current context. **As whom:**
  \`--token\`, else \`OPENCRANE_TOKEN\` (for automation), else the context's saved credentials.
- **Contexts.** \`oc login\` saves one context per instance (named after the URL's host unless
  \`--name\`) in \`$OPENCRANE_CONFIG_DIR\`, else \`$XDG_CONFIG_HOME/opencrane\`, else
  \`~/.config/opencrane\` (\`config.json\`, mode 0600 in a 0700 folder). \`oc context list|use|delete\`,
  \`--context\` or \`OPENCRANE_CONTEXT\` pick one. Sign-in tokens are refreshed before they expire.
- **Output.** \`-o table\` (default, for people), \`-o json\` or \`-o yaml\` (the API's records, for scripts).
- **Errors** are one sentence and a next step on standard error; \`--debug\` adds the stack trace.
- **Secrets** (\`oc tools credentials set\`) are read from standard input or asked for without echo,
  never taken from an argument.

## Exit codes

| code | meaning |
|---|---|
${Object.entries({
    [EXIT.ok]: 'success (for `oc access why`: allowed)',
    [EXIT.failure]: 'the control plane could not be reached or failed',
    [EXIT.usage]: 'a usage mistake: unknown command or option, missing argument, malformed value',
    [EXIT.auth]: 'not signed in, token expired or revoked, or the role may not do this',
    [EXIT.notFound]: 'a named person, team, resource or grant does not exist',
    [EXIT.refused]: 'the API refused the input (400, 409, 422)',
    [EXIT.denied]: '`oc access why`: the person may not',
  }).map(([code, meaning]) => `| ${code} | ${meaning} |`).join('\n')}

## The interactive view

\`oc\` with no arguments, when standard input and output are a terminal, opens the interactive view
(never otherwise: piped, it prints its usage). It works in 80×24 and without colour when \`NO_COLOR\`
is set. Screens and their keys:

| screen | keys |
|---|---|
| dashboard: people, assistants by status, grants, recent activity | ${keyLine(KEYS.dashboard)} |
| people, assistants, grants lists | ${keyLine(KEYS.list)} |
| new grant: subject kind, subject, resource kind, resource, effect, expiry | ${keyLine(KEYS.picker)}; then ${keyLine(KEYS.confirm)} |
| access explorer: why can or can't this person reach this | ${keyLine(KEYS.picker)}; then ${keyLine(KEYS.result)} |
| live audit | ${keyLine(KEYS.audit)} |

## Commands
`;

export function cliReference(): string {
  let captured = '';
  const io: CliIo = {
    stdout: (text) => { captured += text; }, stderr: () => undefined, readStdin: () => Promise.resolve(undefined), env: {}, isTTY: false, columns: 100,
  };
  const program = buildProgram(io);
  program.configureOutput({ writeOut: (text) => { captured += text; }, getOutHelpWidth: () => 100 });
  captured = '';
  program.outputHelp();
  const sections: string[] = [`### \`oc\`\n\nThe global options apply to every command.\n\n\`\`\`\n${captured.trimEnd()}\n\`\`\`\n`];
  for (const command of allCommands(program)) {
    if (command === program) continue;
    captured = '';
    command.configureOutput({ writeOut: (text) => { captured += text; }, getOutHelpWidth: () => 100 });
    command.outputHelp();
    sections.push(`### \`${fullName(command)}\`\n\n${command.description()}\n\n\`\`\`\n${captured.trimEnd()}\n\`\`\`\n`);
  }
  return `${INTRO}\n${sections.join('\n')}`;
}

function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
