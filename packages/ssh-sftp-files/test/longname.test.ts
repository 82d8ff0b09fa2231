import { describe, expect, it } from 'vitest';
import { ownerGroupFromLongname } from '../src/internal/longname';

describe('ownerGroupFromLongname', () => {
  it('reads owner and group from OpenSSH sftp-server long names', () => {
    // OpenSSH ls_file(): "%s %3u %-*s %-*s %8s %s %s" (mode, links, user, group, size, date, name).
    expect(ownerGroupFromLongname('-rw-r--r--    1 mcpsshtest mcpsshtest      220 Mar 27  2022 .bash_logout')).toEqual({ owner: 'mcpsshtest', group: 'mcpsshtest' });
    expect(ownerGroupFromLongname('drwxr-xr-x    2 root     root         4096 Jan  1 12:00 sub dir')).toEqual({ owner: 'root', group: 'root' });
    expect(ownerGroupFromLongname('lrwxrwxrwx    1 www-data adm             5 Jan  1 12:00 link')).toEqual({ owner: 'www-data', group: 'adm' });
    expect(ownerGroupFromLongname('drwxrwxrwt   12 root     root         4096 Dec 31 23:59 tmp')).toEqual({ owner: 'root', group: 'root' });
    expect(ownerGroupFromLongname('-rwsr-sr-x    1 root     sudo       1.2M Jan  1 12:00 scaled')).toEqual({ owner: 'root', group: 'sudo' });
  });

  it('keeps a numeric id the server printed for an unknown user', () => {
    expect(ownerGroupFromLongname('-rw-------    1 1234     5678            3 Jan  1 12:00 orphan')).toEqual({ owner: '1234', group: '5678' });
  });

  it('reads device entries (major, minor instead of a size) and ACL markers', () => {
    expect(ownerGroupFromLongname('crw-rw-rw-    1 root     root       1,   3 Jan  1 12:00 null')).toEqual({ owner: 'root', group: 'root' });
    expect(ownerGroupFromLongname('-rw-r--r--+   1 alice    staff          3 Jan  1 12:00 acl')).toEqual({ owner: 'alice', group: 'staff' });
  });

  it('gives undefined for long names without owner columns, so callers fall back to the ids', () => {
    for (const longname of ['', 'file.txt', 'a b c d e f', '-rw-r--r-- alice staff 3 file', undefined, null, 42]) {
      expect(ownerGroupFromLongname(longname), String(longname)).toBeUndefined();
    }
  });
});
