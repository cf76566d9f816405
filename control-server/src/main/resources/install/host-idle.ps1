<#
.SYNOPSIS
  Nightshift host companion (Windows hosts): writes this desktop user's idle seconds into a file that a Nightshift
  agent in a VM reads with --host-idle-file.

.DESCRIPTION
  Format (docs/idle-policy.md): the idle seconds as the first word; the rest of the line is a comment for people
  (lock state, source, time). Rewritten every 30 s through a temp file and a rename. Idle time from
  GetLastInputInfo (this session's input); locked when LogonUI.exe runs in this session.

  -File F                  keep F current (what the logon task runs)
  -File F -Once            write F once
  -File F -Pause 2h        the owner's "pause for 2 h": report the user as active (0 s idle) until then
  -File F -Resume          end the pause
  -File F -Register        register a Task Scheduler task that runs this at this user's logon (and start it)
  -Unregister              remove that task

  Untested here (no Windows on the project's machines).
#>
[CmdletBinding()]
param(
  [string]$File,
  [switch]$Once,
  [string]$Pause,
  [switch]$Resume,
  [switch]$Register,
  [switch]$Unregister,
  [ValidateRange(1, 60)][int]$IntervalSeconds = 30
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$TaskName = 'Nightshift host companion'
$State = Join-Path $env:LOCALAPPDATA 'NightshiftHostIdle'
$PauseFile = Join-Path $State 'pause-until'

Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
public static class NightshiftIdle {
  [StructLayout(LayoutKind.Sequential)]
  struct LASTINPUTINFO { public uint cbSize; public uint dwTime; }
  [DllImport("user32.dll")] static extern bool GetLastInputInfo(ref LASTINPUTINFO info);
  public static long IdleSeconds() {
    LASTINPUTINFO info = new LASTINPUTINFO();
    info.cbSize = (uint)Marshal.SizeOf(info);
    if (!GetLastInputInfo(ref info)) { return -1; }
    // both tick counts wrap at 49.7 days; unsigned subtraction copes
    return (long)(unchecked((uint)Environment.TickCount - info.dwTime) / 1000);
  }
}
'@

function Locked {
  $session = (Get-Process -Id $PID).SessionId
  if (Get-Process -Name LogonUI -ErrorAction SilentlyContinue | Where-Object { $_.SessionId -eq $session }) { 'yes' } else { 'no' }
}

function Paused-Until {
  if (-not (Test-Path $PauseFile)) { return $null }
  $until = [DateTimeOffset]::FromUnixTimeSeconds([long](Get-Content -TotalCount 1 $PauseFile))
  if ($until -gt [DateTimeOffset]::UtcNow) { return $until } else { return $null }
}

function Write-Once([string]$Target) {
  $now = [DateTimeOffset]::UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ")
  $until = Paused-Until
  if ($until) {
    $line = "0 paused-by-owner-until=$($until.ToUnixTimeSeconds()) at=$now"
  } else {
    $idle = [NightshiftIdle]::IdleSeconds()
    if ($idle -lt 0) { Remove-Item -Force -ErrorAction SilentlyContinue $Target; return }
    $line = "$idle locked=$(Locked) source=GetLastInputInfo at=$now"
  }
  $tmp = "$Target.tmp.$PID"
  [IO.File]::WriteAllText($tmp, "$line`n", [Text.Encoding]::ASCII)
  Move-Item -Force $tmp $Target
}

function Seconds-Of([string]$Duration) {
  if ($Duration -notmatch '^(\d+)([smhd])$') { throw "'$Duration' is not a duration: use e.g. 2h, 30m, 90s, 1d" }
  $n = [long]$Matches[1]
  switch ($Matches[2]) { 's' { $n } 'm' { $n * 60 } 'h' { $n * 3600 } 'd' { $n * 86400 } }
}

if ($Unregister) {
  Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
  Write-Host "Removed the scheduled task '$TaskName'"
  exit 0
}
if (-not $File) { Write-Error 'nightshift-host-idle: -File F is needed (the file shared into the VM)'; exit 2 }

if ($Register) {
  $action = New-ScheduledTaskAction -Execute 'powershell.exe' `
    -Argument "-NoProfile -WindowStyle Hidden -ExecutionPolicy Bypass -File `"$PSCommandPath`" -File `"$File`""
  $trigger = New-ScheduledTaskTrigger -AtLogOn -User "$env:USERDOMAIN\$env:USERNAME"
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries `
    -DontStopIfGoingOnBatteries -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -MultipleInstances IgnoreNew
  Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
    -Description 'Nightshift host companion: idle seconds for an agent in a VM' -Force | Out-Null
  Start-ScheduledTask -TaskName $TaskName
  Write-Host "Registered and started the scheduled task '$TaskName' (at logon of $env:USERNAME)"
  exit 0
}
if ($Pause) {
  New-Item -ItemType Directory -Force -Path $State | Out-Null
  Set-Content -Path $PauseFile -Value ([DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + (Seconds-Of $Pause))
  Write-Once $File
  Write-Host "The agent in the VM pauses for $Pause (it reads you as active); end it early with -Resume"
  exit 0
}
if ($Resume) {
  Remove-Item -Force -ErrorAction SilentlyContinue $PauseFile
  Write-Once $File
  Write-Host 'Pause ended.'
  exit 0
}
if ($Once) { Write-Once $File; exit 0 }
while ($true) {
  try { Write-Once $File } catch { Write-Warning "could not write ${File}: $($_.Exception.Message) (is the shared folder mounted?)" }
  Start-Sleep -Seconds $IntervalSeconds
}
