# Each error's next: line fits the situation, not only the code
# (docs/ERRORS.md, base/next_steps.h).

$ mkdir v && HX_PASSPHRASE=pw hx sync init v store --now-ms 1000 > /dev/null && echo x > v/a.txt && hx sync push v --now-ms 2000 > /dev/null

# The mass-delete guard says how to confirm.
$ rm v/a.txt && hx sync push v --now-ms 3000
error: mass-delete guard: this push would delete every file of the vault. .* (re)
  code: KC_SYNC_STATE_FAILED (invalid_input)
  deleting: 1
  guard: mass_delete
  live_files: 1
  next: If the vault folder is on a disk that is not mounted, mount it; if you really deleted those files, confirm with 'hx sync push <vault> --allow-mass-delete'.
[exit 10]
$ hx sync push v --now-ms 3000 --allow-mass-delete > /dev/null && echo y > v/b.txt

# A damaged store lock says to unlock it.
$ echo '{not a lock' > store/locks/write.lock && hx sync push v --now-ms 4000
error: the store's write lock is damaged .* (re)
  code: KC_SYNC_LOCKED (corrupt)
  key: locks/write.lock
  offset: 1
  record: locks/write.lock
  next: If no device is syncing, remove the lock with 'hx sync unlock <vault>', then run the command again.
[exit 6]
$ hx sync unlock v > /dev/null && hx sync push v --now-ms 5000 > /dev/null

# Another hx process on this device holds the vault (flock(1) takes the same
# lock an hx process holds while it works).
$ flock v/.hx/lock hx sync push v --now-ms 6000
error: another hx process is working on this vault \(.*/v\); wait for it to finish (re)
  code: KC_SYNC_LOCKED (locked)
  path: .*/v (re)
  next: Another hx process on this device (a push, a pull or 'hx sync watch') is using this vault; wait for it to finish, or stop it, then run the command again.
[exit 6]

# A device without the key and without a passphrase is asked for one.
$ rm v/.hx/key && hx sync status v < /dev/null
error: this device has no key for the vault and no passphrase was given; .* (re)
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: Give the vault's passphrase: set HX_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked for it.
[exit 4]
