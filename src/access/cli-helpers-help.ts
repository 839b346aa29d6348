/** The helper commands' lines of `voyandz --help`: apart from the helpers, so the server does not load them (bcrypt, the config loader) to print its usage. */
export const HELPERS_HELP = `  hash-password [--cost N]   read a password on stdin, print its bcrypt hash
                             (for users: in the config, or an htpasswd file as NAME:HASH)
  sign PATH --ttl SECONDS [-f CONFIG] [--base URL]
                             print PATH signed with the secret of its access.signed,
                             valid for SECONDS
`;
