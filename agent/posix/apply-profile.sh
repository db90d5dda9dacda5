#!/bin/sh
# fleet-rollout POSIX apply agent — the remote contract (docs/remote-contract.md) on a simulated workstation.
#
# CONTRACT
#   apply-profile.sh --campaign C --user U --prf PATH --office VER --checksum SHA256 [--root DIR]
#   apply-profile.sh --rollback --campaign C --user U --prf PATH --office VER [--checksum SHA256] [--root DIR]
#
#   --campaign  campaign name: [A-Za-z0-9._-], 1..64 characters
#   --user      Windows user name whose profile is changed (any characters but / \ and control characters;
#               o'brien and "Zoé Müller" are fine — every value is used quoted, never evaluated)
#   --prf       absolute path of the staged PRF (<staging>/<campaign>/<user>.prf); the backup lives beside it
#   --office    11.0 | 12.0 | 14.0 | 15.0 | 16.0
#   --checksum  lower-case hex SHA-256 of the PRF (required to apply; checked against the file)
#   --rollback  restore the values saved by the first apply of this campaign, answer "rolled-back"
#   --root      the simulated workstation (default: $HOME/.fleet-agent). Registry values are files under
#               <root>/registry/<user>/Software/Microsoft/Office/<ver>/Outlook/Setup/<ValueName>
#
# EXIT CODES (sysexits)
#   0   applied / already-applied / rolled-back
#   64  usage: a missing or invalid argument
#   65  bad artifact: the PRF is missing or its SHA-256 differs from --checksum
#   69  unavailable: <root>/installed-office exists and does not list --office
#   75  temporary: retry later (only from the fault switches below on this stand-in)
#   77  permission denied: the user's registry directory cannot be written
#
# OUTPUT: the last line of stdout is one JSON object
#   {"status":"applied","officeVersion":"11.0","backup":"<path>","checksum":"<sha256>"}
#   {"status":"already-applied",...same keys...}   the same checksum was applied for this user and campaign
#   {"status":"rolled-back","officeVersion":"11.0","backup":"<path>","restored":true|false}
#   {"status":"error","message":"..."}                on failure (the message is also written to stderr)
#
# EFFECTS (apply): backup of ImportPRF, FirstRun, First-Run, FleetRolloutChecksum, FleetRolloutCampaign to
#   <prf without .prf>.backup.reg (.reg-like, written once per campaign so rollback returns to the state before
#   the campaign; values are written verbatim, "Name"=- means "absent"); ImportPRF := --prf; FirstRun and
#   First-Run deleted; FleetRolloutChecksum := --checksum, FleetRolloutCampaign := --campaign.
#   Runs for different users touch disjoint files and may run concurrently.
#
# TEST FAULT SWITCHES: optional file <root>/fault, one key=value per line (# comments allowed)
#   exit=N      exit with code N (after printing an error JSON) instead of applying
#   times=K     ...only for the first K runs (counted in <root>/fault.runs), then behave normally
#   hang=1      never finish (prints a dot to stderr each second, so it dies when the SSH channel closes)
#   sleep=S     sleep S seconds, then behave normally (a slow run)
#   signal=NAME die of signal NAME (e.g. KILL), as a killed process does
#   user=NAME   the switches above apply only to this user
#   trace=1     append "start <pid> <user>" / "end <pid>" lines to <root>/trace.log (concurrency checks)

set -u
EX_USAGE=64 EX_DATAERR=65 EX_UNAVAILABLE=69 EX_TEMPFAIL=75 EX_NOPERM=77

campaign='' user='' prf='' office='' checksum='' rollback=0 root="${HOME:-}/.fleet-agent"

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

fail() { # fail CODE MESSAGE
  printf 'apply-profile: %s\n' "$2" >&2
  json_escape "$2"
  printf '{"status":"error","message":"%s"}\n' "$json_out"
  exit "$1"
}

while [ $# -gt 0 ]; do
  case $1 in
    --rollback) rollback=1; shift; continue ;;
    --campaign | --user | --prf | --office | --checksum | --root)
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
  esac
  shift 2
done

# --- validate arguments -------------------------------------------------------------------------
case $campaign in '' | *[!A-Za-z0-9._-]*) fail $EX_USAGE "invalid --campaign" ;; esac
[ ${#campaign} -le 64 ] || fail $EX_USAGE "invalid --campaign"
case $user in '' | . | .. | */* | *\\* | *[[:cntrl:]]*) fail $EX_USAGE "invalid --user" ;; esac
case $office in 11.0 | 12.0 | 14.0 | 15.0 | 16.0) ;; *) fail $EX_USAGE "invalid --office" ;; esac
case $prf in /*) ;; *) fail $EX_USAGE "--prf must be an absolute path" ;; esac
case $root in /*) ;; *) fail $EX_USAGE "--root must be an absolute path" ;; esac
if [ $rollback -eq 0 ] || [ -n "$checksum" ]; then
  case $checksum in *[!0-9a-f]* | '') fail $EX_USAGE "invalid --checksum" ;; esac
  [ ${#checksum} -eq 64 ] || fail $EX_USAGE "invalid --checksum"
fi

# --- test fault switches --------------------------------------------------------------------------
if [ -f "$root/fault" ]; then
  f_exit='' f_times='' f_hang='' f_sleep='' f_user='' f_trace='' f_signal=''
  while IFS='=' read -r key value || [ -n "$key" ]; do
    case $key in
      exit) f_exit=$value ;; times) f_times=$value ;; hang) f_hang=$value ;;
      sleep) f_sleep=$value ;; user) f_user=$value ;; trace) f_trace=$value ;; signal) f_signal=$value ;;
    esac
  done <"$root/fault"
  if [ "$f_trace" = 1 ]; then
    printf 'start %s %s\n' "$$" "$user" >>"$root/trace.log"
    trap 'printf "end %s\n" "$$" >>"$root/trace.log"' EXIT
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

# --- checks ---------------------------------------------------------------------------------------
if [ -f "$root/installed-office" ]; then
  found=0
  while IFS= read -r line || [ -n "$line" ]; do [ "$line" = "$office" ] && found=1; done <"$root/installed-office"
  [ $found = 1 ] || fail $EX_UNAVAILABLE "Outlook $office is not installed"
fi

setup="$root/registry/$user/Software/Microsoft/Office/$office/Outlook/Setup"
backup="${prf%.prf}.backup.reg"
json_escape "$backup"; backup_json=$json_out

if [ ! -d "$setup" ]; then
  mkdir -p -- "$setup" 2>/dev/null || fail $EX_NOPERM "cannot create the registry key of $user"
fi
[ -w "$setup" ] || fail $EX_NOPERM "registry key of $user is not writable"

read_value() { # read_value NAME -> $value, returns 1 when absent
  value=''
  [ -f "$setup/$1" ] || return 1
  IFS= read -r value <"$setup/$1" || [ -n "$value" ] || true
}

if [ $rollback -eq 1 ]; then
  if [ ! -f "$backup" ]; then
    printf '{"status":"rolled-back","officeVersion":"%s","backup":"%s","restored":false}\n' "$office" "$backup_json"
    exit 0
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      '"'*'"=-') name=${line#\"}; name=${name%\"=-}; rm -f -- "$setup/$name" ;;
      '"'*'"="'*'"') name=${line#\"}; name=${name%%\"=\"*}; value=${line#*\"=\"}; value=${value%\"}
        printf '%s\n' "$value" >"$setup/$name" || fail $EX_NOPERM "cannot restore $name" ;;
    esac
  done <"$backup"
  printf '{"status":"rolled-back","officeVersion":"%s","backup":"%s","restored":true}\n' "$office" "$backup_json"
  exit 0
fi

[ -f "$prf" ] || fail $EX_DATAERR "PRF not found"
actual=$(sha256sum <"$prf") || fail $EX_DATAERR "cannot read the PRF"
actual=${actual%% *}
[ "$actual" = "$checksum" ] || fail $EX_DATAERR "PRF checksum mismatch"

result=applied
if read_value FleetRolloutChecksum && [ "$value" = "$checksum" ] &&
  read_value FleetRolloutCampaign && [ "$value" = "$campaign" ]; then
  result=already-applied
else
  if [ ! -f "$backup" ]; then
    {
      printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\%s\\Software\\Microsoft\\Office\\%s\\Outlook\\Setup]\n' \
        "$user" "$office"
      for name in ImportPRF FirstRun First-Run FleetRolloutChecksum FleetRolloutCampaign; do
        if read_value "$name"; then printf '"%s"="%s"\n' "$name" "$value"; else printf '"%s"=-\n' "$name"; fi
      done
    } >"$backup.tmp" && mv -f -- "$backup.tmp" "$backup" || fail $EX_NOPERM "cannot write the backup"
  fi
  printf '%s\n' "$prf" >"$setup/ImportPRF" || fail $EX_NOPERM "cannot write ImportPRF"
  rm -f -- "$setup/FirstRun" "$setup/First-Run"
  printf '%s\n' "$campaign" >"$setup/FleetRolloutCampaign" &&
    printf '%s\n' "$checksum" >"$setup/FleetRolloutChecksum" || fail $EX_NOPERM "cannot record the checksum"
fi

printf '{"status":"%s","officeVersion":"%s","backup":"%s","checksum":"%s"}\n' \
  "$result" "$office" "$backup_json" "$checksum"
exit 0
