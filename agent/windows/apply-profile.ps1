#Requires -Version 5.1
<#
fleet-rollout Windows apply agent - the remote contract (docs/remote-contract.md) on Windows OpenSSH + PowerShell 5.1.
Sources of every Windows, Outlook and OpenSSH behaviour relied on here: docs/windows-workstations.md ("Sources").

CONTRACT
  apply-profile.ps1 -Campaign C -User U -Prf PATH -Office VER -Checksum SHA256 [-StageWhileRunning]
  apply-profile.ps1 -Campaign C -User U -Prf PATH -Office VER [-Checksum SHA256] -Rollback
  apply-profile.ps1 -Campaign C -User U -Prf PATH -Office VER -Probe                          (read-only)
  apply-profile.ps1 -Campaign C -User U -Prf PATH -Office VER -Verify [-Checksum S] [-ExpectProxy H] [-ExpectFlags 0xNN]
  apply-profile.ps1 ... -ExitTest      prints {"status":"exit-test","exit":75} and exits 75 (exit-code pass-through)

  The transport runs it as
    powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64 UTF-16LE of:
      & 'C:\...\.fleet\apply-profile.ps1' -Campaign 'c' -User 'o''brien' -Prf '...' -Office '11.0' -Checksum '...'; exit $LASTEXITCODE>
  so every value is a PowerShell single-quoted literal (no cmd.exe or -File argument parsing in between).

  -Campaign  [A-Za-z0-9._-], 1..64 characters
  -User      logon name, DOMAIN\name or UPN name@suffix (resolved to a SID: ProfileList first, then the account database)
  -Prf       absolute path of the staged PRF (<staging>\<campaign>\<user>.prf); backups are written beside it
  -Office    11.0 | 12.0 | 14.0 | 15.0 | 16.0 (must match the installed outlook.exe major version)
  -Checksum  hex SHA-256 of the PRF (required to apply; compared with Get-FileHash)
  -Rollback  restore the keys saved by the first apply of this campaign (atomic: the current state is exported
             first and re-imported if a restore fails)
  -StageWhileRunning  Outlook running in the user's session: stage anyway, answer applied-pending-restart
  -StepTimeoutSeconds  bound of each reg.exe step (default 20); the whole run stays under -BudgetSeconds (default 90),
             below the transport's command timeout (120 s by default), so the transport never kills a run that
             holds a mounted hive

EXIT CODES (sysexits), always repeated as "exit":N in the JSON (a PowerShell DefaultShell turns them into 1)
  0   applied / already-applied / applied-pending-restart / rolled-back / nothing-to-restore / probe / verify
  64  usage: invalid argument
  65  bad artifact: PRF missing or SHA-256 mismatch
  67  no such user, or the user has no profile on this workstation
  69  Outlook not installed, or another version than -Office
  70  anything unexpected (message on stderr)
  71  the user's hive could not be unloaded (a stale or our own HKU\FleetRollout_* mount): TEMP profile risk
  74  a key to back up exists but could not be exported, or a restore failed and the previous state was re-imported
  75  temporary: Outlook running, hive locked, roaming/FSLogix/UPD profile of a logged-off user, step timed out,
      account lookup failed for another reason than "not mapped" (retry later)
  77  permission denied: not an elevated administrator, or a registry/file access refused
  78  the staging tree is unsafe: staging or .fleet not owned by Administrators/SYSTEM, or writable by others

OUTPUT: the last line of stdout is one JSON object, ASCII only (non-ASCII as \uXXXX)
  {"status":"applied","exit":0,"officeVersion":"11.0","backup":"<path>","checksum":"<sha256>","staleMounts":0}
  {"status":"already-applied"|"applied-pending-restart",...}
  {"status":"rolled-back"|"nothing-to-restore","exit":0,"officeVersion":"11.0","backup":"<path>","restored":true|false}
  {"status":"probe","exit":0,...}   {"status":"verified"|"pending"|"not-taken","exit":0,"reason":"..."}
  {"status":"error","exit":N,"message":"..."} on failure (also written to stderr)

EFFECTS (apply), in the target user's hive (HKU\<SID> when loaded, else NTUSER.DAT loaded with reg load under
  HKU\FleetRollout_<SID> and unloaded in a finally block; one run at a time per host, mutex Global\FleetRolloutHive):
  - backup first (each file once per campaign; a missing one is completed by the next attempt; nothing is written
    until all three exist): Software\Microsoft\Office\<ver>\Outlook\Setup -> <user>.backup.reg; the profile key
    (<=14.0: ...\Windows Messaging Subsystem\Profiles, >=15.0: ...\Office\<ver>\Outlook\Profiles)
    -> <user>.profiles.backup.reg; the Outlook key's DefaultProfile value -> <user>.defaultprofile.backup.reg
  - ImportPRF (REG_SZ) = -Prf; FirstRun and First-Run deleted; FleetRolloutChecksum / FleetRolloutCampaign recorded,
    through [Microsoft.Win32.Registry]::Users handles that are disposed before the unload
  - the PRF's ACL: SYSTEM and Administrators full control, the target user read; backups: SYSTEM and Administrators
  Nothing secret is printed: the PRF holds none, and no credential reaches this script.

REVIEW STATUS: written against Microsoft's documentation for PowerShell 5.1 and .NET Framework; parsed by the
  PowerShell grammar in CI (test/unit/windows-script-syntax.test.ts), not executed on Windows in this project's CI.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string]$Campaign,
  [Parameter(Mandatory = $true)][string]$User,
  [Parameter(Mandatory = $true)][string]$Prf,
  [Parameter(Mandatory = $true)][string]$Office,
  [string]$Checksum = '',
  [switch]$Rollback,
  [switch]$Probe,
  [switch]$Verify,
  [switch]$ExitTest,
  [switch]$StageWhileRunning,
  [string]$ExpectProxy = '',
  [string]$ExpectFlags = '',
  [int]$StepTimeoutSeconds = 20,
  [int]$BudgetSeconds = 90
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)
$script:Deadline = [DateTime]::UtcNow.AddSeconds($BudgetSeconds)
$script:ExitCode = 0
$AdminsSid = 'S-1-5-32-544'
$SystemSid = 'S-1-5-18'
$TrustedInstallerSid = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464'

function Stop-Apply([int]$Code, [string]$Message) {
  $e = New-Object System.Exception($Message)
  $e.Data['FleetExit'] = $Code
  throw $e
}

# ConvertTo-Json, then every character above 0x7E as \uXXXX: the result line is pure ASCII whatever the code page.
function Write-Result([hashtable]$Object) {
  $Object['exit'] = $script:ExitCode
  $json = ConvertTo-Json -InputObject $Object -Compress -Depth 4
  $sb = New-Object System.Text.StringBuilder
  foreach ($ch in $json.ToCharArray()) {
    if ([int]$ch -gt 126) { $null = $sb.AppendFormat('\u{0:x4}', [int]$ch) } else { $null = $sb.Append($ch) }
  }
  [Console]::Out.WriteLine($sb.ToString())
}

function Get-StepTimeoutMs {
  $left = ($script:Deadline - [DateTime]::UtcNow).TotalMilliseconds
  if ($left -le 0) { Stop-Apply 75 'the run used up its time budget (retry later)' }
  return [int][Math]::Min($StepTimeoutSeconds * 1000, $left)
}

# Windows C runtime argument rules: quote when blank, double the backslashes before a closing quote.
function ConvertTo-CommandLineArgument([string]$Value) {
  if ($Value.Contains('"')) { Stop-Apply 64 'an argument holds a double quote' }
  if ($Value -ne '' -and $Value -notmatch '\s') { return $Value }
  return '"' + ($Value -replace '(\\+)$', '$1$1') + '"'
}

# reg.exe with a per-step timeout; classified by its exit code only (never by its localised text).
function Invoke-Reg([string[]]$Arguments) {
  $psi = New-Object System.Diagnostics.ProcessStartInfo
  $psi.FileName = Join-Path ([Environment]::SystemDirectory) 'reg.exe'
  $psi.Arguments = (@($Arguments | ForEach-Object { ConvertTo-CommandLineArgument $_ })) -join ' '
  $psi.UseShellExecute = $false
  $psi.RedirectStandardOutput = $true
  $psi.RedirectStandardError = $true
  $psi.CreateNoWindow = $true
  $process = [System.Diagnostics.Process]::Start($psi)
  try {
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if (-not $process.WaitForExit((Get-StepTimeoutMs))) {
      try { $process.Kill() } catch { $null = $_ }
      return @{ Code = -1; TimedOut = $true; Output = '' }
    }
    $process.WaitForExit()
    return @{ Code = $process.ExitCode; TimedOut = $false; Output = ($stdout.Result + $stderr.Result) }
  } finally {
    $process.Dispose()
  }
}

function Assert-Arguments {
  if ($Campaign -notmatch '^[A-Za-z0-9._-]{1,64}$') { Stop-Apply 64 'invalid -Campaign' }
  if ($User -match '[\x00-\x1f\x7f/]' -or $User -eq '' -or $User.Length -gt 120 -or
    $User -notmatch '^([^\\]{1,15}\\)?[^\\]+$') { Stop-Apply 64 'invalid -User' }
  if (@('11.0', '12.0', '14.0', '15.0', '16.0') -notcontains $Office) { Stop-Apply 64 'invalid -Office' }
  if ($Prf -notmatch '^[A-Za-z]:\\' -or $Prf -match '[\x00-\x1f"]') { Stop-Apply 64 '-Prf must be an absolute path' }
  if ((-not $Rollback -and -not $Probe -and -not $Verify) -or $Checksum -ne '') {
    if ($Checksum -notmatch '^[0-9A-Fa-f]{64}$') { Stop-Apply 64 'invalid -Checksum' }
  }
  if ($ExpectFlags -ne '' -and $ExpectFlags -notmatch '^0x[0-9A-Fa-f]{1,8}$') { Stop-Apply 64 'invalid -ExpectFlags' }
}

# Access rules are read with SecurityIdentifier, so no localised group name is ever compared.
function Test-FolderSafe([string]$Path) {
  if (-not (Test-Path -LiteralPath $Path -PathType Container)) { return $false }
  $acl = Get-Acl -LiteralPath $Path
  $owner = $acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
  if (@($AdminsSid, $SystemSid) -notcontains $owner) { return $false }
  $write = [int]([System.Security.AccessControl.FileSystemRights]'WriteData, AppendData, WriteExtendedAttributes, WriteAttributes, DeleteSubdirectoriesAndFiles, Delete, ChangePermissions, TakeOwnership')
  foreach ($rule in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
    if ($rule.AccessControlType -ne [System.Security.AccessControl.AccessControlType]::Allow) { continue }
    if (@($AdminsSid, $SystemSid, $TrustedInstallerSid) -contains $rule.IdentityReference.Value) { continue }
    if (([int]$rule.FileSystemRights -band $write) -ne 0) { return $false }
  }
  return $true
}

function Get-StagingState {
  $fleet = $PSScriptRoot
  if ((Split-Path -Leaf $fleet) -ne '.fleet') { return 'unknown' }
  if ((Test-FolderSafe $fleet) -and (Test-FolderSafe (Split-Path -Parent $fleet))) { return 'safe' }
  return 'unsafe'
}

function Assert-Administrator {
  $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
  $principal = New-Object System.Security.Principal.WindowsPrincipal($identity)
  $admins = New-Object System.Security.Principal.SecurityIdentifier($AdminsSid)
  if (-not $principal.IsInRole($admins)) { Stop-Apply 77 'the deploy account is not an elevated member of Administrators' }
}

function Get-InstalledOutlook {
  $found = @()
  foreach ($ver in @('11.0', '12.0', '14.0', '15.0', '16.0')) {
    foreach ($hive in @('SOFTWARE', 'SOFTWARE\WOW6432Node')) {
      $key = "Registry::HKEY_LOCAL_MACHINE\$hive\Microsoft\Office\$ver\Outlook"
      if (Test-Path -LiteralPath $key) {
        $bitness = (Get-Item -LiteralPath $key).GetValue('Bitness')
        if (-not $bitness) { $bitness = $(if ($hive -eq 'SOFTWARE') { 'native' } else { 'x86' }) }
        $found += "$ver $bitness"
      }
    }
  }
  return $found
}

function Get-OutlookMajor {
  $appPath = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\OUTLOOK.EXE'
  if (-not (Test-Path -LiteralPath $appPath)) { return $null }
  $exe = "$((Get-Item -LiteralPath $appPath).GetValue(''))".Trim('"')
  if (-not $exe -or -not (Test-Path -LiteralPath $exe)) { return $null }
  return "$((Get-Item -LiteralPath $exe).VersionInfo.FileMajorPart).0"
}

function Assert-OutlookVersion {
  $major = Get-OutlookMajor
  if (-not $major) { Stop-Apply 69 'Outlook is not installed (no App Paths\OUTLOOK.EXE)' }
  if ($major -ne $Office) { Stop-Apply 69 "Outlook $major is installed, not $Office" }
}

# ProfileList first (works for cached domain logons while the domain controller is out of reach), then the
# account database; "not mapped" means no such user (67), any other lookup failure is transient (75).
function Resolve-UserSid {
  $wanted = $User.ToLowerInvariant()
  $list = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
  foreach ($key in @(Get-ChildItem -LiteralPath $list -ErrorAction SilentlyContinue)) {
    if ($key.PSChildName -notmatch '^S-1-5-21-') { continue }
    try {
      $sid = New-Object System.Security.Principal.SecurityIdentifier($key.PSChildName)
      $name = $sid.Translate([System.Security.Principal.NTAccount]).Value.ToLowerInvariant()
    } catch { continue }
    if ($name -eq $wanted -or ($wanted -notmatch '[\\@]' -and $name.EndsWith("\$wanted"))) { return $key.PSChildName }
  }
  try {
    return (New-Object System.Security.Principal.NTAccount($User)).Translate([System.Security.Principal.SecurityIdentifier]).Value
  } catch [System.Security.Principal.IdentityNotMappedException] {
    Stop-Apply 67 'user account not found'
  } catch {
    Stop-Apply 75 'the account lookup failed (domain controller unreachable?): retry later'
  }
}

function Get-ProfileInfo([string]$Sid) {
  $listKey = "Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\$Sid"
  $info = @{ Present = $false; Type = 'local'; Path = ''; LoggedOn = $false }
  $info.LoggedOn = $null -ne ([Microsoft.Win32.Registry]::Users.GetSubKeyNames() | Where-Object { $_ -eq $Sid })
  if (-not (Test-Path -LiteralPath $listKey)) { return $info }
  $item = Get-Item -LiteralPath $listKey
  $info.Present = $true
  $info.Path = [Environment]::ExpandEnvironmentVariables("$($item.GetValue('ProfileImagePath'))")
  $fslogix = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\FSLogix\Profiles'
  $upd = 'Registry::HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\ClusterSettings'
  if ("$($item.GetValue('CentralProfile'))" -ne '') { $info.Type = 'roaming' }
  if ((Test-Path -LiteralPath $fslogix) -and (Get-Item -LiteralPath $fslogix).GetValue('Enabled') -eq 1) { $info.Type = 'fslogix' }
  if ((Test-Path -LiteralPath $upd) -and (Get-Item -LiteralPath $upd).GetValue('UvhdEnabled') -eq 1) { $info.Type = 'upd' }
  return $info
}

function Test-OutlookRunning([string]$Sid) {
  foreach ($process in @(Get-CimInstance Win32_Process -Filter "Name = 'OUTLOOK.EXE'" -OperationTimeoutSec $StepTimeoutSeconds)) {
    $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid
    if ($owner.Sid -eq $Sid) { return $true }
  }
  return $false
}

# Stale HKU\FleetRollout_* mounts (a run killed while a hive was loaded) lock NTUSER.DAT: the user then logs on
# with a TEMP profile. Called while holding the host mutex, so no other run's mount is live.
function Dismount-StaleHives {
  $count = 0
  foreach ($name in @([Microsoft.Win32.Registry]::Users.GetSubKeyNames() | Where-Object { $_ -like 'FleetRollout_*' })) {
    $r = Invoke-Reg @('unload', "HKU\$name")
    if ($r.Code -ne 0) { Stop-Apply 71 "a stale hive mount could not be unloaded: HKU\$name" }
    $count++
  }
  return $count
}

function Mount-UserHive([string]$Sid, $UserProfile) {
  if ($UserProfile.LoggedOn) { return @{ Name = $Sid; Mounted = $false } }
  if (-not $UserProfile.Present) { Stop-Apply 67 'the user has no profile on this workstation' }
  $hive = Join-Path $UserProfile.Path 'NTUSER.DAT'
  if (-not (Test-Path -LiteralPath $hive)) { Stop-Apply 67 'the user profile has no NTUSER.DAT' }
  try {
    # Win32 error 32/33 (sharing/lock violation): logon or logoff in progress.
    $stream = [System.IO.File]::Open($hive, 'Open', 'Read', 'None')
    $stream.Dispose()
  } catch [System.UnauthorizedAccessException] {
    Stop-Apply 77 'access denied to the user hive'
  } catch {
    $ex = $_.Exception
    if ($null -ne $ex.InnerException) { $ex = $ex.InnerException }
    $win32 = $ex.HResult -band 0xFFFF
    if ($win32 -eq 32 -or $win32 -eq 33) { Stop-Apply 75 'the user hive is in use (logon or logoff in progress?)' }
    throw
  }
  $name = "FleetRollout_$Sid"
  $r = Invoke-Reg @('load', "HKU\$name", $hive)
  if ($r.TimedOut) { return @{ Name = $name; Mounted = $true; LoadTimedOut = $true } }
  if ($r.Code -ne 0) { Stop-Apply 75 'reg load failed: the user hive is locked (retry later)' }
  return @{ Name = $name; Mounted = $true }
}

function Dismount-UserHive($Hive) {
  if (-not $Hive -or -not $Hive.Mounted) { return }
  # Every RegistryKey handle is disposed where it is opened; collect what the provider may still hold.
  [gc]::Collect()
  [gc]::WaitForPendingFinalizers()
  for ($i = 0; $i -lt 5; $i++) {
    if ((Invoke-Reg @('unload', "HKU\$($Hive.Name)")).Code -eq 0) { return }
    Start-Sleep -Milliseconds 500
  }
  Stop-Apply 71 "could not unload HKU\$($Hive.Name): the user would log on with a TEMP profile"
}

function Get-ProfileSubkey {
  if ([double]$Office -le 14.0) { return 'Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem\Profiles' }
  return "Software\Microsoft\Office\$Office\Outlook\Profiles"
}

# Run a script block with a RegistryKey under HKU, disposed whatever happens.
function Use-Key([string]$Path, [bool]$Create, [scriptblock]$Action) {
  $key = $(if ($Create) { [Microsoft.Win32.Registry]::Users.CreateSubKey($Path) } else { [Microsoft.Win32.Registry]::Users.OpenSubKey($Path, $true) })
  if ($null -eq $key) { return $null }
  try { return (& $Action $key) } finally { $key.Dispose() }
}

function Test-Key([string]$Path) {
  $key = [Microsoft.Win32.Registry]::Users.OpenSubKey($Path)
  if ($null -eq $key) { return $false }
  $key.Dispose()
  return $true
}

function Read-Value([string]$Path, [string]$Name) {
  $key = [Microsoft.Win32.Registry]::Users.OpenSubKey($Path)
  if ($null -eq $key) { return $null }
  try { return $key.GetValue($Name) } finally { $key.Dispose() }
}

function Protect-File([string]$Path, [string[]]$Grants) {
  $ErrorActionPreference = 'Continue'
  $null = & icacls.exe $Path /inheritance:r /grant:r @Grants 2>&1
  if ($LASTEXITCODE -ne 0) { Stop-Apply 77 "cannot set the ACL of $Path" }
}

# .reg text for one key: an export when it exists (a failed export stops everything: 74), else "delete it".
function Export-KeyText([string]$Root, [string]$Sid, [string]$Subkey, [string]$File) {
  if (-not (Test-Key "$Root\$Subkey")) {
    return "Windows Registry Editor Version 5.00`r`n`r`n[-HKEY_USERS\$Sid\$Subkey]`r`n"
  }
  $r = Invoke-Reg @('export', "HKU\$Root\$Subkey", "$File.tmp", '/y')
  if ($r.Code -ne 0) {
    Remove-Item -LiteralPath "$File.tmp" -Force -ErrorAction SilentlyContinue
    Stop-Apply 74 "the key $Subkey exists but could not be exported: nothing was changed"
  }
  $text = [IO.File]::ReadAllText("$File.tmp").Replace("[HKEY_USERS\$Root\", "[HKEY_USERS\$Sid\")
  Remove-Item -LiteralPath "$File.tmp" -Force
  return $text
}

# The Outlook key's DefaultProfile value (15.0/16.0 keep it outside the Profiles key), as a one-value .reg.
function Export-DefaultProfileText([string]$Root, [string]$Sid) {
  $outlook = "Software\Microsoft\Office\$Office\Outlook"
  $value = Read-Value "$Root\$outlook" 'DefaultProfile'
  $line = $(if ($null -eq $value) { '"DefaultProfile"=-' } else { '"DefaultProfile"="' + ("$value" -replace '\\', '\\' -replace '"', '\"') + '"' })
  return "Windows Registry Editor Version 5.00`r`n`r`n[HKEY_USERS\$Sid\$outlook]`r`n$line`r`n"
}

function Write-Backup([string]$File, [string]$Text) {
  [IO.File]::WriteAllText("$File.part", $Text, [Text.Encoding]::Unicode)
  Protect-File "$File.part" @("*${SystemSid}:F", "*${AdminsSid}:F")
  Move-Item -LiteralPath "$File.part" -Destination $File -Force
}

function Get-BackupSet([string]$Stem) {
  $subkey = Get-ProfileSubkey
  return @(
    @{ File = "$Stem.backup.reg"; Subkey = "Software\Microsoft\Office\$Office\Outlook\Setup"; Kind = 'key' },
    @{ File = "$Stem.profiles.backup.reg"; Subkey = $subkey; Kind = 'key' },
    @{ File = "$Stem.defaultprofile.backup.reg"; Subkey = "Software\Microsoft\Office\$Office\Outlook"; Kind = 'value' }
  )
}

function Save-Backups([string]$Root, [string]$Sid, [string]$Stem) {
  foreach ($b in (Get-BackupSet $Stem)) {
    if (Test-Path -LiteralPath $b.File) { continue }
    $text = $(if ($b.Kind -eq 'key') { Export-KeyText $Root $Sid $b.Subkey $b.File } else { Export-DefaultProfileText $Root $Sid })
    Write-Backup $b.File $text
  }
}

function Import-RegText([string]$Root, [string]$Sid, [string]$Subkey, [string]$Text, [bool]$WholeKey) {
  $local = $Text.Replace("[HKEY_USERS\$Sid\", "[HKEY_USERS\$Root\").Replace("[-HKEY_USERS\$Sid\", "[-HKEY_USERS\$Root\")
  $tmp = [IO.Path]::GetTempFileName()
  try {
    [IO.File]::WriteAllText($tmp, $local, [Text.Encoding]::Unicode)
    # reg import merges: delete the key first so values added since the backup go too.
    if ($WholeKey -and (Test-Key "$Root\$Subkey")) {
      if ((Invoke-Reg @('delete', "HKU\$Root\$Subkey", '/f')).Code -ne 0) { return $false }
    }
    return (Invoke-Reg @('import', $tmp)).Code -eq 0
  } finally {
    Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
  }
}

# Atomic restore: export the current state of every key first; if one import fails, re-import that state.
function Restore-Backups([string]$Root, [string]$Sid, [string]$Stem) {
  $set = @(Get-BackupSet $Stem | Where-Object { Test-Path -LiteralPath $_.File })
  if ($set.Count -eq 0) { return $false }
  $before = @{}
  foreach ($b in $set) {
    $before[$b.File] = $(if ($b.Kind -eq 'key') { Export-KeyText $Root $Sid $b.Subkey "$($b.File).now" } else { Export-DefaultProfileText $Root $Sid })
  }
  foreach ($b in $set) {
    if (-not (Import-RegText $Root $Sid $b.Subkey ([IO.File]::ReadAllText($b.File)) ($b.Kind -eq 'key'))) {
      foreach ($u in $set) { $null = Import-RegText $Root $Sid $u.Subkey $before[$u.File] ($u.Kind -eq 'key') }
      Stop-Apply 74 "restoring $($b.Subkey) failed: the state before the rollback was re-imported"
    }
  }
  return $true
}

function Get-Overrides([string]$Root) {
  $found = [ordered]@{}
  $paths = @(
    "Software\Microsoft\Office\$Office\Outlook\AutoDiscover",
    "Software\Policies\Microsoft\Office\$Office\Outlook\AutoDiscover"
  )
  foreach ($path in $paths) {
    $key = [Microsoft.Win32.Registry]::Users.OpenSubKey("$Root\$path")
    if ($null -eq $key) { continue }
    try {
      foreach ($name in $key.GetValueNames()) {
        if ($name -like 'Exclude*' -or $name -eq 'ZeroConfigExchange' -or $name -eq 'PreferLocalXML') { $found["$path\$name"] = "$($key.GetValue($name))" }
      }
    } finally { $key.Dispose() }
  }
  $mapi = Read-Value "$Root\Software\Microsoft\Exchange" 'MapiHttpDisabled'
  if ($null -ne $mapi) { $found['Software\Microsoft\Exchange\MapiHttpDisabled'] = "$mapi" }
  return $found
}

function Invoke-Probe([string]$Sid, $UserProfile, [string]$Staging) {
  $os = Get-CimInstance Win32_OperatingSystem -OperationTimeoutSec $StepTimeoutSeconds
  $shell = 'cmd.exe (default)'
  $openssh = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\OpenSSH'
  if (Test-Path -LiteralPath $openssh) {
    $value = (Get-Item -LiteralPath $openssh).GetValue('DefaultShell')
    if ($value) { $shell = "$value" }
  }
  $setup = "$Sid\Software\Microsoft\Office\$Office\Outlook\Setup"
  $major = Get-OutlookMajor
  return @{
    status = 'probe'; os = "$($os.Caption) $($os.Version)"; psVersion = "$($PSVersionTable.PSVersion)"
    defaultShell = $shell; osSupported = ([int]$os.BuildNumber -ge 7601); staging = $Staging
    officeInstalled = @(Get-InstalledOutlook); officeMatches = ($major -eq $Office)
    outlookRunning = (Test-OutlookRunning $Sid); profile = $(if ($UserProfile.Present) { 'present' } else { 'absent' })
    profileType = $UserProfile.Type; loggedOn = $UserProfile.LoggedOn
    importPending = $(if ($UserProfile.LoggedOn) { $null -ne (Read-Value $setup 'ImportPRF') } else { $null })
    overrides = $(if ($UserProfile.LoggedOn) { Get-Overrides $Sid } else { @{ note = 'user logged off: hive not read' } })
  }
}

# Outlook keeps a profile's Exchange Global Section under Profiles\<name>\13dbb0c8aa05101a9bb000aa002fc45a;
# PR_ROH_PROXY_SERVER (0x6622001F) is value 001f6622 (UTF-16 bytes), PR_ROH_FLAGS (0x66230003) is 00036623.
function Invoke-Verify([string]$Root) {
  $setup = "$Root\Software\Microsoft\Office\$Office\Outlook\Setup"
  $recorded = Read-Value $setup 'FleetRolloutChecksum'
  if ($null -eq $recorded -or ($Checksum -ne '' -and $recorded -ne $Checksum.ToLowerInvariant())) {
    return @{ status = 'not-taken'; reason = 'this campaign has not staged this PRF for the user (checksum not recorded)' }
  }
  if ($null -ne (Read-Value $setup 'ImportPRF') -and $null -eq (Read-Value $setup 'FirstRun')) {
    return @{ status = 'pending'; reason = 'ImportPRF is still set: Outlook has not started cleanly since the PRF was staged' }
  }
  $outlook = "$Root\Software\Microsoft\Office\$Office\Outlook"
  $name = $(if ([double]$Office -le 14.0) { Read-Value "$Root\$(Get-ProfileSubkey)" 'DefaultProfile' } else { Read-Value $outlook 'DefaultProfile' })
  if (-not $name) { return @{ status = 'not-taken'; reason = 'the user has no default Outlook profile' } }
  $egs = "$Root\$(Get-ProfileSubkey)\$name\13dbb0c8aa05101a9bb000aa002fc45a"
  if ($ExpectProxy -ne '') {
    $bytes = Read-Value $egs '001f6622'
    $proxy = $(if ($bytes -is [byte[]]) { [Text.Encoding]::Unicode.GetString($bytes).TrimEnd([char]0) } else { '' })
    if ($proxy -ne $ExpectProxy) { return @{ status = 'not-taken'; reason = "the profile's RPC proxy is '$proxy', not '$ExpectProxy'" } }
  }
  if ($ExpectFlags -ne '') {
    $bytes = Read-Value $egs '00036623'
    $flags = $(if ($bytes -is [byte[]] -and $bytes.Length -ge 4) { [BitConverter]::ToUInt32($bytes, 0) } else { -1 })
    if ($flags -ne [Convert]::ToUInt32($ExpectFlags.Substring(2), 16)) { return @{ status = 'not-taken'; reason = "the profile's RPCoverHTTPflags differ from the PRF" } }
  }
  return @{ status = 'verified'; reason = 'Outlook consumed the PRF and the profile holds the expected settings' }
}

function Invoke-Main {
  Assert-Arguments
  if ($ExitTest) { $script:ExitCode = 75; return @{ status = 'exit-test' } }
  $staging = Get-StagingState
  if ($staging -eq 'unsafe' -and -not $Probe) { Stop-Apply 78 'the staging folder or .fleet is not owned and writable by Administrators/SYSTEM only (refusing to run)' }
  Assert-Administrator
  $sid = Resolve-UserSid
  $userProfile = Get-ProfileInfo $sid
  if ($Probe) { return Invoke-Probe $sid $userProfile $staging }
  Assert-OutlookVersion
  $stem = [IO.Path]::Combine([IO.Path]::GetDirectoryName($Prf), [IO.Path]::GetFileNameWithoutExtension($Prf))
  $running = Test-OutlookRunning $sid
  if ($running -and ($Rollback -or -not $StageWhileRunning) -and -not $Verify) { Stop-Apply 75 'Outlook is running in the user''s session' }
  if (@('roaming', 'fslogix', 'upd') -contains $userProfile.Type -and -not $userProfile.LoggedOn) {
    Stop-Apply 75 "$($userProfile.Type) profile: changed only while the user is logged on (an offline NTUSER.DAT edit is lost)"
  }
  if (-not $Rollback -and -not $Verify) {
    if (-not (Test-Path -LiteralPath $Prf -PathType Leaf)) { Stop-Apply 65 'PRF not found' }
    $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $Prf).Hash.ToLowerInvariant()
    if ($actual -ne $Checksum.ToLowerInvariant()) { Stop-Apply 65 'PRF checksum mismatch' }
  }
  $mutex = New-Object System.Threading.Mutex($false, 'Global\FleetRolloutHive')
  try {
    try { if (-not $mutex.WaitOne((Get-StepTimeoutMs))) { Stop-Apply 75 'another fleet-rollout run holds the hive lock' } }
    catch [System.Threading.AbandonedMutexException] { $null = $_ }
    $stale = Dismount-StaleHives
    $hive = $null
    try {
      $hive = Mount-UserHive $sid $userProfile
      if ($hive.ContainsKey('LoadTimedOut')) { Stop-Apply 75 'reg load timed out' }
      $root = $hive.Name
      if ($Verify) { return Invoke-Verify $root }
      if ($Rollback) {
        $restored = Restore-Backups $root $sid $stem
        $status = $(if ($restored) { 'rolled-back' } else { 'nothing-to-restore' })
        return @{ status = $status; officeVersion = $Office; backup = "$stem.backup.reg"; restored = $restored }
      }
      $setup = "$root\Software\Microsoft\Office\$Office\Outlook\Setup"
      $sum = $Checksum.ToLowerInvariant()
      $result = @{ officeVersion = $Office; backup = "$stem.backup.reg"; checksum = $sum; staleMounts = $stale }
      if ((Read-Value $setup 'FleetRolloutChecksum') -eq $sum -and (Read-Value $setup 'FleetRolloutCampaign') -eq $Campaign) {
        $result['status'] = 'already-applied'
        return $result
      }
      Save-Backups $root $sid $stem
      Protect-File $Prf @("*${SystemSid}:F", "*${AdminsSid}:F", "*${sid}:R")
      $null = Use-Key $setup $true {
        param($key)
        $key.SetValue('ImportPRF', $Prf, [Microsoft.Win32.RegistryValueKind]::String)
        $key.DeleteValue('FirstRun', $false)
        $key.DeleteValue('First-Run', $false)
        $key.SetValue('FleetRolloutCampaign', $Campaign, [Microsoft.Win32.RegistryValueKind]::String)
        $key.SetValue('FleetRolloutChecksum', $sum, [Microsoft.Win32.RegistryValueKind]::String)
      }
      $result['status'] = $(if ($running) { 'applied-pending-restart' } else { 'applied' })
      return $result
    } finally {
      Dismount-UserHive $hive
    }
  } finally {
    try { $mutex.ReleaseMutex() } catch { $null = $_ }
    $mutex.Dispose()
  }
}

try {
  $result = Invoke-Main
  Write-Result $result
} catch {
  $exception = $_.Exception
  if ($exception.Data.Contains('FleetExit')) {
    $script:ExitCode = [int]$exception.Data['FleetExit']
  } elseif ($exception -is [System.UnauthorizedAccessException] -or $exception -is [System.Security.SecurityException]) {
    $script:ExitCode = 77
  } else {
    $script:ExitCode = 70
  }
  [Console]::Error.WriteLine("apply-profile: $($exception.Message)")
  Write-Result @{ status = 'error'; message = $exception.Message }
}
exit $script:ExitCode
