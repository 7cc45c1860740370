// `returnTo` after sign-in may only be a path on this origin: never another host, a protocol-relative
// URL (`//evil`), a backslash trick (`/\evil`) or a scheme (`javascript:`).
export function safeReturnTo(value: unknown, publicUrl: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) return '/';
  const hasControlCharacter = [...value].some((c) => c.charCodeAt(0) < 0x20);
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || hasControlCharacter) return '/';
  try {
    const base = new URL(publicUrl);
    const resolved = new URL(value, base);
    if (resolved.origin !== base.origin) return '/';
    return `${resolved.pathname}${resolved.search}${resolved.hash}`;
  } catch {
    return '/';
  }
}
