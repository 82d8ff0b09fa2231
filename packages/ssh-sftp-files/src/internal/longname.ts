/**
 * Owner and group names from an SFTP `longname` (SSH_FXP_NAME, protocol v3): the `ls -l` line a
 * server sends with each readdir entry. OpenSSH's sftp-server fills it with names
 * (`-rw-r--r--    1 alice    staff        220 Jan  1 12:00 .profile`), or the numeric id when a
 * name is unknown. The draft leaves its format to the server, so anything not shaped like that
 * (a bare file name, an empty string) gives undefined and the caller falls back to the ids.
 */
export function ownerGroupFromLongname(longname: unknown): { readonly owner: string; readonly group: string } | undefined {
  if (typeof longname !== 'string') return undefined;
  // type + 9 permission characters (an ACL/xattr marker may follow), link count, owner, group, then
  // the size (or a device's "major, minor").
  const match = /^[-a-zA-Z?][-a-zA-Z]{9}[.+@]?\s+\d+\s+(\S+)\s+(\S+)\s+\d/.exec(longname);
  if (!match) return undefined;
  const [, owner, group] = match;
  return owner && group ? { owner, group } : undefined;
}
