<#
fleet-rollout Windows apply agent - the remote contract (docs/remote-contract.md) on Windows OpenSSH + PowerShell 5.1.

CONTRACT
  apply-profile.ps1 -Campaign C -User U -Prf PATH -Office VER -Checksum SHA256
  apply-profile.ps1 -Campaign C -User U -Prf PATH -Office VER [-Checksum SHA256] -Rollback

  The transport runs it as
    powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64 UTF-16LE of:
      & 'C:\...\.fleet\apply-profile.ps1' -Campaign 'c' -User 'o''brien' -Prf '...' -Office '11.0' -Checksum '...'; exit $LASTEXITCODE>
  so every value is a PowerShell single-quoted literal (no cmd.exe or -File argument parsing in between).

  -Campaign  [A-Za-z0-9._-], 1..64 characters
  -User      the Windows logon name whose profile is changed (local or domain account, resolved to a SID)
  -Prf       absolute path of the staged PRF (<staging>\<campaign>\<user>.prf); backups are written beside it
  -Office    11.0 | 12.0 | 14.0 | 15.0 | 16.0 (must match the installed outlook.exe major version)
  -Checksum  hex SHA-256 of the PRF (required to apply; compared with Get-FileHash)
  -Rollback  restore the registry keys saved by the first apply of this campaign

EXIT CODES (sysexits)
  0   applied / already-applied / rolled-back
  64  usage: invalid argument
  65  bad artifact: PRF missing or SHA-256 mismatch
  67  no such user, or the user has no profile on this workstation
  69  Outlook not installed, or another version than -Office
  75  temporary: Outlook running in the user's session, or the user's hive is locked (retry later)
  77  permission denied (registry or file)
  70  anything unexpected (message on stderr)

OUTPUT: the last line of stdout is one JSON object
  {"status":"applied","officeVersion":"11.0","backup":"<path>","checksum":"<sha256>"}
  {"status":"already-applied",...}   FleetRolloutChecksum + FleetRolloutCampaign under the Setup key match
  {"status":"rolled-back","officeVersion":"11.0","backup":"<path>","restored":true|false}
  {"status":"error","message":"..."} on failure (also written to stderr)

EFFECTS (apply), in the target user's hive (HKU\<SID> when loaded, else NTUSER.DAT loaded with reg load and
  unloaded in a finally block):
  - backup (first apply of a campaign only, so rollback returns to the state before the campaign):
    Software\Microsoft\Office\<ver>\Outlook\Setup        -> <user>.backup.reg
    the profile key (<=14.0: Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem\Profiles,
                     >=15.0: Software\Microsoft\Office\<ver>\Outlook\Profiles) -> <user>.profiles.backup.reg
  - ImportPRF (REG_SZ) = -Prf; FirstRun and First-Run deleted; FleetRolloutChecksum / FleetRolloutCampaign recorded
  - the PRF's ACL: SYSTEM and Administrators full control, the target user read (Outlook reads it as the user)
  Nothing secret is printed: the PRF holds none, and no credential reaches this script.

REVIEW STATUS: written against PowerShell 5.1 documentation; not executed on Windows in this project's CI
  (see docs/windows-workstations.md, "What is tested where").
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string]$Campaign,
  [Parameter(Mandatory = $true)][string]$User,
  [Parameter(Mandatory = $true)][string]$Prf,
  [Parameter(Mandatory = $true)][string]$Office,
  [string]$Checksum = '',
  [switch]$Rollback
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)

function Stop-Apply([int]$Code, [string]$Message) {
  $e = New-Object System.Exception($Message)
  $e.Data['FleetExit'] = $Code
  throw $e
}

function Write-Result($Object) {
  [Console]::Out.WriteLine((ConvertTo-Json -InputObject $Object -Compress))
}

function Invoke-Reg([string[]]$Arguments) {
  # reg.exe writes its own messages; keep them for error classification, never print them to stdout.
  # 'Continue' here: in PowerShell 5.1, 2>&1 on a native command under 'Stop' turns any stderr line into a throw.
  $ErrorActionPreference = 'Continue'
  $output = & reg.exe @Arguments 2>&1 | Out-String
  return @{ Code = $LASTEXITCODE; Output = $output }
}

function Assert-Arguments {
  if ($Campaign -notmatch '^[A-Za-z0-9._-]{1,64}$') { Stop-Apply 64 'invalid -Campaign' }
  if ($User -match '[\x00-\x1f\x7f/\\]' -or $User -eq '' -or $User.Length -gt 104) { Stop-Apply 64 'invalid -User' }
  if (@('11.0', '12.0', '14.0', '15.0', '16.0') -notcontains $Office) { Stop-Apply 64 'invalid -Office' }
  if ($Prf -notmatch '^[A-Za-z]:\\' -or $Prf -match '[\x00-\x1f]') { Stop-Apply 64 '-Prf must be an absolute path' }
  if ((-not $Rollback) -or $Checksum -ne '') {
    if ($Checksum -notmatch '^[0-9A-Fa-f]{64}$') { Stop-Apply 64 'invalid -Checksum' }
  }
}

function Assert-OutlookVersion {
  $appPath = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\OUTLOOK.EXE'
  if (-not (Test-Path -LiteralPath $appPath)) { Stop-Apply 69 'Outlook is not installed (no App Paths\OUTLOOK.EXE)' }
  $exe = "$((Get-Item -LiteralPath $appPath).GetValue(''))".Trim('"')
  if (-not $exe -or -not (Test-Path -LiteralPath $exe)) { Stop-Apply 69 'Outlook is not installed (OUTLOOK.EXE missing)' }
  $major = (Get-Item -LiteralPath $exe).VersionInfo.FileMajorPart
  if ("$major.0" -ne $Office) { Stop-Apply 69 "Outlook $major.0 is installed, not $Office" }
}

function Resolve-UserSid {
  try {
    $account = New-Object System.Security.Principal.NTAccount($User)
    return $account.Translate([System.Security.Principal.SecurityIdentifier]).Value
  } catch {
    Stop-Apply 67 'user account not found'
  }
}

function Assert-OutlookStopped([string]$Sid) {
  foreach ($process in @(Get-CimInstance Win32_Process -Filter "Name = 'OUTLOOK.EXE'")) {
    $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid
    if ($owner.Sid -eq $Sid) { Stop-Apply 75 'Outlook is running in the user''s session' }
  }
}

function Mount-UserHive([string]$Sid) {
  if (Test-Path -LiteralPath "Registry::HKEY_USERS\$Sid") { return @{ Root = "HKEY_USERS\$Sid"; Mounted = $false } }
  $listKey = "Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\$Sid"
  if (-not (Test-Path -LiteralPath $listKey)) { Stop-Apply 67 'the user has no profile on this workstation' }
  $profileDir = [Environment]::ExpandEnvironmentVariables((Get-Item -LiteralPath $listKey).GetValue('ProfileImagePath'))
  $hive = Join-Path $profileDir 'NTUSER.DAT'
  if (-not (Test-Path -LiteralPath $hive)) { Stop-Apply 67 'the user profile has no NTUSER.DAT' }
  $mount = "HKEY_USERS\FleetRollout_$Sid"
  $r = Invoke-Reg @('load', $mount, $hive)
  if ($r.Code -ne 0) {
    if ($r.Output -match 'denied') { Stop-Apply 77 'access denied loading the user hive' }
    Stop-Apply 75 'the user hive is locked (logon or logoff in progress?)'
  }
  return @{ Root = $mount; Mounted = $true }
}

function Dismount-UserHive($Hive) {
  if (-not $Hive -or -not $Hive.Mounted) { return }
  # Handles opened through the PowerShell registry provider must be released before reg unload.
  [gc]::Collect()
  [gc]::WaitForPendingFinalizers()
  for ($i = 0; $i -lt 5; $i++) {
    if ((Invoke-Reg @('unload', $Hive.Root)).Code -eq 0) { return }
    Start-Sleep -Milliseconds 500
  }
  [Console]::Error.WriteLine("apply-profile: could not unload $($Hive.Root)")
}

function Get-ProfileSubkey {
  if ([double]$Office -le 14.0) { return 'Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem\Profiles' }
  return "Software\Microsoft\Office\$Office\Outlook\Profiles"
}

# Backups name the hive as HKEY_USERS\<SID>, whatever root it was mounted under at the time.
function Save-KeyBackup([string]$Root, [string]$Sid, [string]$Subkey, [string]$File) {
  $tmp = "$File.tmp"
  $r = Invoke-Reg @('export', "$Root\$Subkey", $tmp, '/y')
  if ($r.Code -eq 0) {
    $text = [IO.File]::ReadAllText($tmp).Replace("[$Root\", "[HKEY_USERS\$Sid\")
  } else {
    # The key did not exist: restoring means deleting it.
    $text = "Windows Registry Editor Version 5.00`r`n`r`n[-HKEY_USERS\$Sid\$Subkey]`r`n"
  }
  [IO.File]::WriteAllText($tmp, $text, [Text.Encoding]::Unicode)
  Move-Item -LiteralPath $tmp -Destination $File -Force
}

function Restore-KeyBackup([string]$Root, [string]$Sid, [string]$Subkey, [string]$File) {
  if (-not (Test-Path -LiteralPath $File)) { return $false }
  $text = [IO.File]::ReadAllText($File).Replace("[HKEY_USERS\$Sid\", "[$Root\").Replace("[-HKEY_USERS\$Sid\", "[-$Root\")
  $tmp = [IO.Path]::GetTempFileName()
  try {
    [IO.File]::WriteAllText($tmp, $text, [Text.Encoding]::Unicode)
    # Delete first: reg import merges, and values added since the backup must go.
    $null = Invoke-Reg @('delete', "$Root\$Subkey", '/f')
    $r = Invoke-Reg @('import', $tmp)
    if ($r.Code -ne 0) { Stop-Apply 77 "reg import failed for $Subkey" }
  } finally {
    Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
  }
  return $true
}

function Set-PrfAcl([string]$Sid) {
  $ErrorActionPreference = 'Continue'
  $null = & icacls.exe $Prf /inheritance:r /grant:r '*S-1-5-18:F' '*S-1-5-32-544:F' "*${Sid}:R" 2>&1
  if ($LASTEXITCODE -ne 0) { Stop-Apply 77 'cannot set the PRF file ACL' }
}

function Invoke-Apply {
  Assert-Arguments
  Assert-OutlookVersion
  $sid = Resolve-UserSid
  $stem = [IO.Path]::Combine([IO.Path]::GetDirectoryName($Prf), [IO.Path]::GetFileNameWithoutExtension($Prf))
  $backup = "$stem.backup.reg"
  $profilesBackup = "$stem.profiles.backup.reg"
  Assert-OutlookStopped $sid
  if (-not $Rollback) {
    if (-not (Test-Path -LiteralPath $Prf -PathType Leaf)) { Stop-Apply 65 'PRF not found' }
    $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $Prf).Hash.ToLowerInvariant()
    if ($actual -ne $Checksum.ToLowerInvariant()) { Stop-Apply 65 'PRF checksum mismatch' }
  }
  $hive = $null
  try {
    $hive = Mount-UserHive $sid
    $setupSubkey = "Software\Microsoft\Office\$Office\Outlook\Setup"
    $setup = "Registry::$($hive.Root)\$setupSubkey"
    if ($Rollback) {
      $restored = Restore-KeyBackup $hive.Root $sid $setupSubkey $backup
      $null = Restore-KeyBackup $hive.Root $sid (Get-ProfileSubkey) $profilesBackup
      return @{ status = 'rolled-back'; officeVersion = $Office; backup = $backup; restored = $restored }
    }
    $current = Get-ItemProperty -LiteralPath $setup -ErrorAction SilentlyContinue
    if ($current -and ($current.PSObject.Properties.Name -contains 'FleetRolloutChecksum') -and
      $current.FleetRolloutChecksum -eq $Checksum.ToLowerInvariant() -and
      ($current.PSObject.Properties.Name -contains 'FleetRolloutCampaign') -and $current.FleetRolloutCampaign -eq $Campaign) {
      return @{ status = 'already-applied'; officeVersion = $Office; backup = $backup; checksum = $Checksum.ToLowerInvariant() }
    }
    if (-not (Test-Path -LiteralPath $backup)) {
      Save-KeyBackup $hive.Root $sid $setupSubkey $backup
      Save-KeyBackup $hive.Root $sid (Get-ProfileSubkey) $profilesBackup
    }
    Set-PrfAcl $sid
    if (-not (Test-Path -LiteralPath $setup)) { $null = New-Item -Path $setup -Force }
    Set-ItemProperty -LiteralPath $setup -Name 'ImportPRF' -Value $Prf -Type String
    foreach ($name in @('FirstRun', 'First-Run')) {
      Remove-ItemProperty -LiteralPath $setup -Name $name -ErrorAction SilentlyContinue
    }
    Set-ItemProperty -LiteralPath $setup -Name 'FleetRolloutCampaign' -Value $Campaign -Type String
    Set-ItemProperty -LiteralPath $setup -Name 'FleetRolloutChecksum' -Value $Checksum.ToLowerInvariant() -Type String
    return @{ status = 'applied'; officeVersion = $Office; backup = $backup; checksum = $Checksum.ToLowerInvariant() }
  } finally {
    Dismount-UserHive $hive
  }
}

$exitCode = 0
try {
  $result = Invoke-Apply
  Write-Result $result
} catch {
  $exception = $_.Exception
  if ($exception.Data.Contains('FleetExit')) {
    $exitCode = [int]$exception.Data['FleetExit']
  } elseif ($exception -is [System.UnauthorizedAccessException] -or $exception -is [System.Security.SecurityException]) {
    $exitCode = 77
  } else {
    $exitCode = 70
  }
  [Console]::Error.WriteLine("apply-profile: $($exception.Message)")
  Write-Result @{ status = 'error'; message = $exception.Message }
}
exit $exitCode
