#!/bin/sh
# fleet-rollout POSIX apply agent — the remote contract (docs/remote-contract.md) on a simulated workstation.
#
# CONTRACT
#   apply-profile.sh --campaign C --user U --prf PATH --office VER --checksum SHA256 [--stage-while-running] [--root DIR]
#   apply-profile.sh --rollback --campaign C --user U --prf PATH --office VER [--checksum SHA256] [--root DIR]
#   apply-profile.sh --probe    --campaign C --user U --prf PATH --office VER [--checksum X] [--root DIR]   (read-only)
#   apply-profile.sh --verify   --campaign C --user U --prf PATH --office VER [--checksum SHA256]
#                    [--expect-proxy HOST] [--expect-flags 0xNNNN] [--root DIR]                            (read-only)
#
#   --campaign  campaign name: [A-Za-z0-9._-], 1..64 characters
#   --user      Windows user name whose profile is changed: a logon name, DOMAIN\name or a UPN name@domain (any
#               characters but / and control characters, at most one \; o'brien and "Zoé Müller" are fine —
#               every value is used quoted, never evaluated). DOMAIN\name is stored as DOMAIN+name.
#   --prf       absolute path of the staged PRF (<staging>/<campaign>/<user>.prf); the backup lives beside it
#   --office    11.0 | 12.0 | 14.0 | 15.0 | 16.0
#   --checksum  lower-case hex SHA-256 of the PRF (required to apply; checked against the file)
#   --rollback  restore the values saved by the first apply of this campaign, answer "rolled-back"
#               (or "nothing-to-restore" when this campaign saved nothing for the user)
#   --stage-while-running  when Outlook runs in the user's session, stage anyway and answer
#               "applied-pending-restart" (Outlook takes ImportPRF at its next clean start) instead of exit 75
#   --exit-test print {"status":"exit-test","exit":75} and exit 75 (the probe's exit-code pass-through check)
#   --probe     read-only preflight: what this workstation would do (JSON, exit 0); changes nothing
#   --verify    read-only: did Outlook consume the PRF (ImportPRF cleared or FirstRun recreated) and does the
#               profile hold --expect-proxy / --expect-flags; answers "verified", "pending" or "not-taken"
#   --root      the simulated workstation (default: $HOME/.fleet-agent). Registry values are files under
#               <root>/registry/<user>/Software/Microsoft/Office/<ver>/Outlook/Setup/<ValueName>; the profile's
#               global section under .../Outlook/Profile/<ValueName>; DefaultProfile under .../Outlook/DefaultProfile
#
# EXIT CODES (sysexits), also written as "exit":N in the JSON (a PowerShell DefaultShell turns them into 1)
#   0   applied / already-applied / applied-pending-restart / rolled-back / nothing-to-restore / probe / verify
#   64  usage: a missing or invalid argument
#   65  bad artifact: the PRF is missing or its SHA-256 differs from --checksum
#   69  unavailable: <root>/installed-office exists and does not list --office
#   71  the user's hive could not be unloaded (simulated by <root>/unload-fails)
#   74  a key to back up exists but cannot be exported (simulated by <root>/export-fails); nothing was changed
#   75  temporary: retry later (Outlook running, roaming profile of a logged-off user, fault switches)
#   77  permission denied: the user's registry directory cannot be written
#   78  the staging tree is not safe: this script's folder (.fleet) or the staging root is writable by others, or
#       owned by another account than root or the deploy account; nothing ran
#
# OUTPUT: the last line of stdout is one JSON object, always with "exit"
#   {"status":"applied","exit":0,"officeVersion":"11.0","backup":"<path>","checksum":"<sha256>"}
#   {"status":"already-applied",...same keys...}   the same checksum was applied for this user and campaign
#   {"status":"applied-pending-restart",...same keys...}
#   {"status":"rolled-back","exit":0,"officeVersion":"11.0","backup":"<path>","restored":true}
#   {"status":"nothing-to-restore","exit":0,"officeVersion":"11.0","backup":"<path>","restored":false}
#   {"status":"probe","exit":0,...}  {"status":"verified"|"pending"|"not-taken","exit":0,"reason":"..."}
#   {"status":"error","exit":N,"message":"..."}     on failure (the message is also written to stderr)
#
# EFFECTS (apply): backup of ImportPRF, FirstRun, First-Run, FleetRolloutChecksum, FleetRolloutCampaign and the
#   Outlook key's DefaultProfile to <prf without .prf>.backup.reg (.reg-like, written once per campaign so rollback
#   returns to the state before the campaign; values are written verbatim, "Name"=- means "absent");
#   ImportPRF := --prf; FirstRun and First-Run deleted; FleetRolloutChecksum := --checksum,
#   FleetRolloutCampaign := --campaign. Runs for different users touch disjoint files and may run concurrently.
#
# SIMULATED WINDOWS STATE (files under --root)
#   hku/FleetRollout_*     stale hive mounts left by an earlier run: unloaded (removed) first, counted in "staleMounts"
#   unload-fails           every hive unload fails (exit 71; also when a stale mount cannot be unloaded)
#   export-fails           reg export fails: an existing Setup key cannot be backed up (exit 74)
#   outlook-running        Outlook runs in the session of the users listed (one per line; empty file = everyone)
#   logged-on              users logged on (one per line); profile-type: local | roaming | fslogix | upd
#   collapse-exit          simulate Win32-OpenSSH with PowerShell as DefaultShell: the process exits 1 for any
#                          non-zero code (the JSON keeps the real one)
#   overrides              key=value lines reported read-only by --probe (ZeroConfigExchange=1, ...)
#
# TEST FAULT SWITCHES: optional file <root>/fault, one key=value per line (# comments allowed)
#   exit=N      exit with code N (after printing an error JSON) instead of applying
#   times=K     ...only for the first K runs (counted in <root>/fault.runs), then behave normally
#   hang=1      never finish (prints a dot to stderr each second, so it dies when the SSH channel closes)
#   sleep=S     sleep S seconds, then behave normally (a slow run)
#   signal=NAME die of signal NAME (e.g. KILL), as a killed process does
#   user=NAME   the switches above apply only to this user
#   trace=1     append "start <pid> <user>" / "end <pid>" lines to <root>/trace.log (concurrency checks)
#   trace=time  the same lines with the epoch milliseconds last: "start <pid> <user> <ms>" / "end <pid> <ms>"
#   starts=1    append "<epoch seconds> <user>" to <root>/starts.log when a run starts (maintenance window checks)

set -u
EX_USAGE=64 EX_DATAERR=65 EX_UNAVAILABLE=69 EX_OSERR=71 EX_IOERR=74 EX_TEMPFAIL=75 EX_NOPERM=77 EX_CONFIG=78

campaign='' user='' prf='' office='' checksum='' mode=apply root="${HOME:-}/.fleet-agent"
stage_running=0 expect_proxy='' expect_flags=''

# Escape a string for a JSON string literal; sets $json_out. Pure shell (no subprocess).
json_escape() {
  rest=$1 json_out=''
  while [ -n "$rest" ]; do
    head=${rest%%[\"\\]*}
    if [ "$head" = "$rest" ]; then json_out=$json_out$rest; break; fi
    rest=${rest#"$head"}
    json_out=$json_out$head\\${rest%"${rest#?}"}
    rest=${rest#?}
  done
}

# finish CODE: exit with CODE, or 1 for any non-zero CODE when <root>/collapse-exit simulates powershell -c.
finish() {
  if [ "$1" -ne 0 ] && [ -f "$root/collapse-exit" ]; then exit 1; fi
  exit "$1"
}

fail() { # fail CODE MESSAGE
  printf 'apply-profile: %s\n' "$2" >&2
  json_escape "$2"
  printf '{"status":"error","exit":%s,"message":"%s"}\n' "$1" "$json_out"
  finish "$1"
}

while [ $# -gt 0 ]; do
  case $1 in
    --rollback) mode=rollback; shift; continue ;;
    --probe) mode=probe; shift; continue ;;
    --verify) mode=verify; shift; continue ;;
    --exit-test) mode=exit-test; shift; continue ;;
    --stage-while-running) stage_running=1; shift; continue ;;
    --campaign | --user | --prf | --office | --checksum | --root | --expect-proxy | --expect-flags)
      [ $# -ge 2 ] || fail $EX_USAGE "missing value for $1" ;;
    *) fail $EX_USAGE "unknown argument: $1" ;;
  esac
  case $1 in
    --campaign) campaign=$2 ;;
    --user) user=$2 ;;
    --prf) prf=$2 ;;
    --office) office=$2 ;;
    --checksum) checksum=$2 ;;
    --root) root=$2 ;;
    --expect-proxy) expect_proxy=$2 ;;
    --expect-flags) expect_flags=$2 ;;
  esac
  shift 2
done

# --- validate arguments -------------------------------------------------------------------------
case $campaign in '' | *[!A-Za-z0-9._-]*) fail $EX_USAGE "invalid --campaign" ;; esac
[ ${#campaign} -le 64 ] || fail $EX_USAGE "invalid --campaign"
case $user in '' | . | .. | */* | *[[:cntrl:]]* | *\\*\\* | \\* | *\\ | *\\. | *\\..) fail $EX_USAGE "invalid --user" ;; esac
# DOMAIN\name is kept as DOMAIN+name on disk (+ is not allowed in account names, so no two users collide).
case $user in *\\*) user_dir=${user%%\\*}+${user#*\\} ;; *) user_dir=$user ;; esac
case $office in 11.0 | 12.0 | 14.0 | 15.0 | 16.0) ;; *) fail $EX_USAGE "invalid --office" ;; esac
case $prf in /*) ;; *) fail $EX_USAGE "--prf must be an absolute path" ;; esac
case $root in /*) ;; *) fail $EX_USAGE "--root must be an absolute path" ;; esac
if [ $mode = apply ] || { [ $mode = rollback ] && [ -n "$checksum" ]; }; then
  case $checksum in *[!0-9a-f]* | '') fail $EX_USAGE "invalid --checksum" ;; esac
  [ ${#checksum} -eq 64 ] || fail $EX_USAGE "invalid --checksum"
fi
case $expect_flags in '' | 0x[0-9a-fA-F]*) ;; *) fail $EX_USAGE "invalid --expect-flags" ;; esac

# exit-test (probe): does a non-zero code survive the remote shell? (PowerShell's `-c` turns it into 1.)
if [ $mode = exit-test ]; then
  printf '{"status":"exit-test","exit":75}\n'
  finish 75
fi

# --- staging tree: refuse to run from a folder others may write (docs/windows-workstations.md §3) ----
# Only when deployed over SSH (the script then sits in <staging>/.fleet/); the local transport runs it in place.
staging_state=safe
# The folder this script runs from, symlinks resolved: cd there and back (no subshell, no dirname process).
case $0 in */*) script_dir=${0%/*} ;; *) script_dir=. ;; esac
here=$PWD
if cd -P -- "${script_dir:-/}" 2>/dev/null; then script_dir=$PWD; cd -- "$here" 2>/dev/null || true; else script_dir=''; fi
owned_ok() { # owned_ok DIR: DIR belongs to me (the shell's own `test -O`, no process) or to root
  [ -O "$1" ] 2>/dev/null && return 0
  owner=$(stat -c %u -- "$1" 2>/dev/null) && [ "$owner" = 0 ]
}
case $script_dir in
  */.fleet)
    # Unsafe when either folder is writable by others (one `find` for both; a folder it cannot read counts as
    # unsafe) or owned by someone else than root or me. Group write is left alone: with a umask of 002 every
    # user's private group has it, which grants no one else.
    others_write=$(find "$script_dir" "${script_dir%/.fleet}" -maxdepth 0 -perm -o+w -print 2>/dev/null) || others_write=x
    if [ -n "$others_write" ] || ! owned_ok "$script_dir" || ! owned_ok "${script_dir%/.fleet}"; then
      staging_state=unsafe
    fi ;;
esac
if [ $staging_state = unsafe ] && [ $mode != probe ]; then
  fail $EX_CONFIG "the staging folder is writable by other accounts: refusing to run"
fi

# --- test fault switches --------------------------------------------------------------------------
# Epoch milliseconds (GNU date; whole seconds elsewhere).
now_ms() {
  t=$(date +%s%3N 2>/dev/null)
  case $t in '' | *[!0-9]*) t="$(date +%s)000" ;; esac
  printf '%s' "$t"
}
if [ -f "$root/fault" ] && [ $mode != probe ] && [ $mode != verify ]; then
  f_exit='' f_times='' f_hang='' f_sleep='' f_user='' f_trace='' f_signal='' f_starts=''
  while IFS='=' read -r key value || [ -n "$key" ]; do
    case $key in
      exit) f_exit=$value ;; times) f_times=$value ;; hang) f_hang=$value ;;
      sleep) f_sleep=$value ;; user) f_user=$value ;; trace) f_trace=$value ;; signal) f_signal=$value ;;
      starts) f_starts=$value ;;
    esac
  done <"$root/fault"
  [ "$f_starts" != 1 ] || printf '%s %s\n' "$(date +%s)" "$user" >>"$root/starts.log"
  if [ "$f_trace" = 1 ]; then
    printf 'start %s %s\n' "$$" "$user" >>"$root/trace.log"
    trap 'printf "end %s\n" "$$" >>"$root/trace.log"' EXIT
  elif [ "$f_trace" = time ]; then
    printf 'start %s %s %s\n' "$$" "$user" "$(now_ms)" >>"$root/trace.log"
    trap 'printf "end %s %s\n" "$$" "$(now_ms)" >>"$root/trace.log"' EXIT
  fi
  if [ -z "$f_user" ] || [ "$f_user" = "$user" ]; then
    if [ -n "$f_times" ]; then
      printf '%s\n' "$user" >>"$root/fault.runs"
      runs=0
      while IFS= read -r _line; do runs=$((runs + 1)); done <"$root/fault.runs"
      [ "$runs" -le "$f_times" ] || f_exit='' f_hang='' f_sleep='' f_signal=''
    fi
    if [ "$f_hang" = 1 ]; then
      while :; do sleep 1; printf '.' >&2 || exit $EX_TEMPFAIL; done
    fi
    [ -z "$f_sleep" ] || sleep "$f_sleep"
    [ -z "$f_signal" ] || kill -s "$f_signal" $$
    [ -z "$f_exit" ] || fail "$f_exit" "fault switch: exit $f_exit"
  fi
fi

# --- simulated workstation state ---------------------------------------------------------------------
listed() { # listed FILE: the file exists and is empty (everyone) or lists $user
  [ -f "$1" ] || return 1
  [ -s "$1" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do [ "$line" = "$user" ] && return 0; done <"$1"
  return 1
}
installed_ok=1 installed_json='"unknown"'
if [ -f "$root/installed-office" ]; then
  installed_ok=0 installed_json=''
  while IFS= read -r line || [ -n "$line" ]; do
    [ -n "$line" ] || continue
    [ "$line" = "$office" ] && installed_ok=1
    installed_json="$installed_json${installed_json:+,}\"$line\""
  done <"$root/installed-office"
  installed_json="[$installed_json]"
fi
profile_type=local
[ -f "$root/profile-type" ] && IFS= read -r profile_type <"$root/profile-type"
outlook_running=false
listed "$root/outlook-running" && outlook_running=true
logged_on=false
listed "$root/logged-on" && logged_on=true

outlook="$root/registry/$user_dir/Software/Microsoft/Office/$office/Outlook"
setup="$outlook/Setup"
stem=${prf%.prf}
backup="$stem.backup.reg"
json_escape "$backup"; backup_json=$json_out

read_value() { # read_value DIR NAME -> $value, returns 1 when absent
  value=''
  [ -f "$1/$2" ] || return 1
  IFS= read -r value <"$1/$2" || [ -n "$value" ] || true
}

if [ $mode = probe ]; then
  # Read-only: nothing below writes.
  overrides=''
  if [ -f "$root/overrides" ]; then
    while IFS='=' read -r key value || [ -n "$key" ]; do
      case $key in '' | \#*) continue ;; esac
      json_escape "$key"; k=$json_out; json_escape "$value"
      overrides="$overrides${overrides:+,}\"$k\":\"$json_out\""
    done <"$root/overrides"
  fi
  if [ -d "$root/registry/$user_dir" ]; then profile=present; else profile=absent; fi
  pending=false
  read_value "$setup" ImportPRF && pending=true
  shell=${SHELL:-/bin/sh}
  printf '{"status":"probe","exit":0,"os":"%s","psVersion":"none (POSIX stand-in)","defaultShell":"%s","osSupported":true,"staging":"%s","officeInstalled":%s,"officeMatches":%s,"outlookRunning":%s,"profile":"%s","profileType":"%s","loggedOn":%s,"importPending":%s,"overrides":{%s}}\n' \
    "$(uname -sr | tr -d '"\\')" "$(printf '%s' "${shell##*/}" | tr -d '"\\')" "$staging_state" "$installed_json" "$([ $installed_ok = 1 ] && echo true || echo false)" \
    "$outlook_running" "$profile" "$profile_type" "$logged_on" "$pending" "$overrides"
  exit 0
fi

if [ $mode = verify ]; then
  verdict=verified reason='Outlook consumed the PRF and the profile holds the expected settings'
  if ! read_value "$setup" FleetRolloutChecksum || { [ -n "$checksum" ] && [ "$value" != "$checksum" ]; }; then
    verdict=not-taken reason='this campaign has not staged this PRF for the user (checksum not recorded)'
  elif read_value "$setup" ImportPRF && [ ! -f "$setup/FirstRun" ]; then
    verdict=pending reason='ImportPRF is still set: Outlook has not started cleanly since the PRF was staged'
  elif [ -n "$expect_proxy" ] && { ! read_value "$outlook/Profile" RPCProxyServer || [ "$value" != "$expect_proxy" ]; }; then
    verdict=not-taken reason="the profile's RPCProxyServer is not the expected proxy"
  elif [ -n "$expect_flags" ] && { ! read_value "$outlook/Profile" RPCoverHTTPflags || [ "$value" != "$expect_flags" ]; }; then
    verdict=not-taken reason="the profile's RPCoverHTTPflags differ from the PRF"
  fi
  printf '{"status":"%s","exit":0,"officeVersion":"%s","reason":"%s"}\n' "$verdict" "$office" "$reason"
  exit 0
fi

[ $installed_ok = 1 ] || fail $EX_UNAVAILABLE "Outlook $office is not installed"

# Stale hive mounts of an earlier run: unload them before anything else (a mounted NTUSER.DAT means a TEMP profile).
stale=0
for mount in "$root"/hku/FleetRollout_*; do
  [ -e "$mount" ] || continue
  [ ! -f "$root/unload-fails" ] || fail $EX_OSERR "a stale hive mount could not be unloaded: ${mount##*/}"
  rm -f -- "$mount" 2>/dev/null || fail $EX_OSERR "a stale hive mount could not be unloaded: ${mount##*/}"
  stale=$((stale + 1))
done

if [ "$outlook_running" = true ] && { [ $mode = rollback ] || [ $stage_running = 0 ]; }; then
  fail $EX_TEMPFAIL "Outlook is running in the user's session"
fi
case $profile_type in
  roaming | fslogix | upd)
    [ "$logged_on" = true ] || fail $EX_TEMPFAIL "$profile_type profile: applied only while the user is logged on" ;;
esac

if [ ! -d "$setup" ]; then
  [ $mode = rollback ] || mkdir -p -- "$setup" 2>/dev/null || fail $EX_NOPERM "cannot create the registry key of $user"
fi
[ $mode = rollback ] || [ -w "$setup" ] || fail $EX_NOPERM "registry key of $user is not writable"

# The hive is "loaded" when the user is logged off; its unload is checked once the values are written.
unload_hive() {
  if [ "$logged_on" = false ] && [ -f "$root/unload-fails" ]; then
    fail $EX_OSERR "the user's hive could not be unloaded: the user would log on with a TEMP profile"
  fi
}

if [ $mode = rollback ]; then
  if [ ! -f "$backup" ]; then
    unload_hive
    printf '{"status":"nothing-to-restore","exit":0,"officeVersion":"%s","backup":"%s","restored":false}\n' "$office" "$backup_json"
    exit 0
  fi
  key=$setup
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      *'\Outlook]') key=$outlook ;;
      *'\Outlook\Setup]') key=$setup ;;
      '"'*'"=-') name=${line#\"}; name=${name%\"=-}; rm -f -- "$key/$name" ;;
      '"'*'"="'*'"') name=${line#\"}; name=${name%%\"=\"*}; value=${line#*\"=\"}; value=${value%\"}
        mkdir -p -- "$key" && printf '%s\n' "$value" >"$key/$name" || fail $EX_NOPERM "cannot restore $name" ;;
    esac
  done <"$backup"
  unload_hive
  printf '{"status":"rolled-back","exit":0,"officeVersion":"%s","backup":"%s","restored":true}\n' "$office" "$backup_json"
  exit 0
fi

[ -f "$prf" ] || fail $EX_DATAERR "PRF not found"
actual=$(sha256sum <"$prf") || fail $EX_DATAERR "cannot read the PRF"
actual=${actual%% *}
[ "$actual" = "$checksum" ] || fail $EX_DATAERR "PRF checksum mismatch"

result=applied
if read_value "$setup" FleetRolloutChecksum && [ "$value" = "$checksum" ] &&
  read_value "$setup" FleetRolloutCampaign && [ "$value" = "$campaign" ]; then
  result=already-applied
else
  if [ ! -f "$backup" ]; then
    # Backup first: a key that exists but cannot be exported stops the run before anything changes.
    if [ -f "$root/export-fails" ] && [ -n "$(ls -A -- "$setup" 2>/dev/null)" ]; then
      fail $EX_IOERR "the Outlook Setup key exists but could not be exported: nothing was changed"
    fi
    {
      printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\%s\\Software\\Microsoft\\Office\\%s\\Outlook\\Setup]\n' \
        "$user_dir" "$office"
      for name in ImportPRF FirstRun First-Run FleetRolloutChecksum FleetRolloutCampaign; do
        if read_value "$setup" "$name"; then printf '"%s"="%s"\n' "$name" "$value"; else printf '"%s"=-\n' "$name"; fi
      done
      printf '\n[HKEY_USERS\\%s\\Software\\Microsoft\\Office\\%s\\Outlook]\n' "$user_dir" "$office"
      if read_value "$outlook" DefaultProfile; then printf '"DefaultProfile"="%s"\n' "$value"; else printf '"DefaultProfile"=-\n'; fi
    } >"$backup.tmp" && mv -f -- "$backup.tmp" "$backup" || fail $EX_NOPERM "cannot write the backup"
  fi
  printf '%s\n' "$prf" >"$setup/ImportPRF" || fail $EX_NOPERM "cannot write ImportPRF"
  if [ -e "$setup/FirstRun" ] || [ -e "$setup/First-Run" ]; then rm -f -- "$setup/FirstRun" "$setup/First-Run"; fi
  printf '%s\n' "$campaign" >"$setup/FleetRolloutCampaign" &&
    printf '%s\n' "$checksum" >"$setup/FleetRolloutChecksum" || fail $EX_NOPERM "cannot record the checksum"
fi
[ "$outlook_running" = true ] && [ $result = applied ] && result=applied-pending-restart
unload_hive

printf '{"status":"%s","exit":0,"officeVersion":"%s","backup":"%s","checksum":"%s","staleMounts":%s}\n' \
  "$result" "$office" "$backup_json" "$checksum" "$stale"
exit 0
