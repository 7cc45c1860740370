// Colour only when the terminal wants it: NO_COLOR (https://no-color.org) turns every colour off.
export interface Theme { accent?: string; good?: string; bad?: string; dim: boolean }

export function themeFor(env: NodeJS.ProcessEnv): Theme {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return { dim: false };
  return { accent: 'cyan', good: 'green', bad: 'red', dim: true };
}
