// Why the gateway could not put a credential on an upstream request. The gateway turns each into a
// clean tool error for the assistant. Messages name the tool and the reason, never a secret, a token
// or anything the upstream answered.

export type CredentialErrorCode =
  /** No credential is stored (the tool's, or this person's), or no subject token was supplied for an exchange. */
  | 'ERR_CREDENTIAL_MISSING'
  /** The upstream token endpoint failed, refused, timed out or answered something unusable. */
  | 'ERR_CREDENTIAL_UPSTREAM'
  /** A stored credential does not open under the key-encryption key (wrong key, or the row was altered). */
  | 'ERR_CREDENTIAL_UNREADABLE'
  /** The tool's authentication settings lack something its kind needs. */
  | 'ERR_CREDENTIAL_MISCONFIGURED';

export class CredentialUnavailableError extends Error {
  override readonly name = 'CredentialUnavailableError';
  readonly code: CredentialErrorCode;
  readonly toolId: string;

  constructor(code: CredentialErrorCode, toolId: string, message: string) {
    super(message);
    this.code = code;
    this.toolId = toolId;
  }
}
