<#
.SYNOPSIS
  Installs the Nightshift worker agent on Windows, from the server that served this script.

.DESCRIPTION
  Checks the enrollment token with the server, downloads the agent jar and checks its SHA-256, and only then
  installs into -Prefix (default %LOCALAPPDATA%\NightshiftAgent): lib\nightshift-agent.jar, etc\agent.properties
  (settings and the enrollment token; its ACL lets only this user read it; never on a command line), data\ (the
  data directory) and bin\nightshift-agent.cmd, and registers a Task Scheduler task that starts the agent at this
  user's logon.

  Why a logon task and not a Windows service: a service runs in session 0, where GetLastInputInfo sees no user
  input, so the agent could never tell that the desktop's owner is at the keyboard (docs/idle-policy.md). A task in
  the user's session sees the user's idle time, and its scripts run as that user. The `once` mode from Task
  Scheduler on a timer stays possible (docs/agent.md).

  Untested here (no Windows on the project's machines): written to the same contract as agent.sh, which is tested.

.EXAMPLE
  Invoke-WebRequest -UseBasicParsing @NIGHTSHIFT_SERVER@/install/install-agent.ps1 -OutFile install-agent.ps1
  $env:NIGHTSHIFT_ENROLLMENT_TOKEN = Read-Host 'Enrollment token'
  powershell -ExecutionPolicy Bypass -File install-agent.ps1

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install-agent.ps1 -TokenFile token.txt -Slots 2
  powershell -ExecutionPolicy Bypass -File install-agent.ps1 -TokenFile token.txt -TrustedKey 'ssh-ed25519 AAAA... releases'
  powershell -ExecutionPolicy Bypass -File install-agent.ps1 -Uninstall
  powershell -ExecutionPolicy Bypass -File install-agent.ps1 -HostCompanion Z:\nightshift-idle
#>
[CmdletBinding()]
param(
  [string]$Token = $env:NIGHTSHIFT_ENROLLMENT_TOKEN,
  [string]$TokenFile,
  [string]$Server = '@NIGHTSHIFT_SERVER@',
  [string]$Prefix = (Join-Path $env:LOCALAPPDATA 'NightshiftAgent'),
  [string]$Name,
  [ValidateRange(1, 256)][int]$Slots = 0,
  [string[]]$Label = @(),
  [ValidateSet('', 'always', 'desktop')][string]$IdlePolicy = '',
  [string]$HostIdleFile,
  [string[]]$TrustedKey = @(),
  [switch]$AllowUnsigned,
  [string]$Java,
  [switch]$NoService,
  [switch]$Uninstall,
  [string]$HostCompanion
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$ProgressPreference = 'SilentlyContinue'
$Server = $Server.TrimEnd('/')
$TaskName = 'Nightshift agent'
$CompanionTask = 'Nightshift host companion'

function Fail([string]$Message) {
  Write-Error "nightshift-agent-install: $Message" -ErrorAction Continue
  exit 1
}

function Problem-Detail($ErrorRecord) {
  try {
    $body = $ErrorRecord.ErrorDetails.Message | ConvertFrom-Json
    if ($body.detail) { return ": $($body.detail)" }
  } catch { }
  return ''
}

function Restrict-ToUser([string]$Path) {
  # this user (and SYSTEM, administrators) only; no inherited read for others
  $null = & icacls.exe $Path /inheritance:r /grant:r "$($env:USERNAME):(F)" '*S-1-5-18:(F)' '*S-1-5-32-544:(F)'
  if ($LASTEXITCODE -ne 0) { throw "icacls failed on $Path" }
}

if ($Uninstall) {
  foreach ($t in @($TaskName, $CompanionTask)) {
    if (Get-ScheduledTask -TaskName $t -ErrorAction SilentlyContinue) {
      Stop-ScheduledTask -TaskName $t -ErrorAction SilentlyContinue
      Unregister-ScheduledTask -TaskName $t -Confirm:$false
      Write-Host "Removed the scheduled task '$t'"
    }
  }
  if (Test-Path $Prefix) {
    if (-not (Test-Path (Join-Path $Prefix 'installed-by-install-agent.ps1'))) {
      Fail "$Prefix was not installed by this script: not removing it"
    }
    Get-CimInstance Win32_Process -Filter "Name = 'javaw.exe' OR Name = 'java.exe'" |
      Where-Object { $_.CommandLine -like "*$Prefix*" } |
      ForEach-Object { Stop-Process -Id $_.ProcessId -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $Prefix
    Write-Host "Removed $Prefix"
  } else {
    Write-Host "Nothing installed at $Prefix"
  }
  exit 0
}

$stage = Join-Path ([IO.Path]::GetTempPath()) ("nightshift-agent-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $stage | Out-Null
$createdPrefix = -not (Test-Path $Prefix)
try {
  if ($HostCompanion) {
    try {
      Invoke-WebRequest -UseBasicParsing -Uri "$Server/install/host-idle.ps1" -OutFile (Join-Path $stage 'host-idle.ps1')
    } catch {
      Fail "cannot download $Server/install/host-idle.ps1: $($_.Exception.Message)$(Problem-Detail $_). Nothing was installed."
    }
    New-Item -ItemType Directory -Force -Path (Join-Path $Prefix 'bin') | Out-Null
    New-Item -ItemType File -Force -Path (Join-Path $Prefix 'installed-by-install-agent.ps1') | Out-Null
    $companion = Join-Path $Prefix 'bin\host-idle.ps1'
    Move-Item -Force (Join-Path $stage 'host-idle.ps1') $companion
    if (-not $NoService) {
      & powershell.exe -NoProfile -ExecutionPolicy Bypass -File $companion -Register -File $HostCompanion
      if ($LASTEXITCODE -ne 0) { throw "registering the host companion failed" }
    }
    $createdPrefix = $false
    Write-Host "Installed the host companion: $companion writes $HostCompanion"
    Write-Host "  pause the agent in the VM for 2 h: powershell -File `"$companion`" -Pause 2h -File `"$HostCompanion`""
    exit 0
  }

  # ---- check everything before installing anything ----
  if ($TokenFile) { $Token = (Get-Content -TotalCount 1 -Path $TokenFile).Trim() }
  if (-not $Token) {
    Fail 'an enrollment token is needed: -Token T, -TokenFile F or $env:NIGHTSHIFT_ENROLLMENT_TOKEN (admins create one with POST /api/v1/enrollment-tokens)'
  }
  if ($Token -notmatch '^[A-Za-z0-9._~+/=-]+$') { Fail 'the token has characters no enrollment token has: check what you pasted' }
  foreach ($v in @($Name, $HostIdleFile) + $Label + $TrustedKey) {
    if ($v -and ($v -match "[`r`n]")) { Fail "settings may not hold a line break: '$v'" }
  }

  if (-not $Java) {
    $cmd = Get-Command javaw.exe -ErrorAction SilentlyContinue
    if (-not $cmd) { Fail 'no javaw.exe found: install Java 17 or newer (e.g. winget install EclipseAdoptium.Temurin.17.JRE) or pass -Java PATH\javaw.exe' }
    $Java = $cmd.Source
  }
  $javaExe = Join-Path (Split-Path $Java) 'java.exe'
  $versionLine = (& $javaExe -version 2>&1 | Select-Object -First 1 | Out-String)
  if ($versionLine -notmatch 'version "(\d+)' -or [int]$Matches[1] -lt 17) {
    Fail "$javaExe is not Java 17 or newer ($($versionLine.Trim())): pass -Java PATH\javaw.exe"
  }

  try {
    Invoke-WebRequest -UseBasicParsing -Method Post -Uri "$Server/install/enrollment-check" `
      -Headers @{ Authorization = "Bearer $Token" } | Out-Null
  } catch {
    $status = $null
    if ($_.Exception.Response) { $status = [int]$_.Exception.Response.StatusCode }
    if ($status -eq 401) { Fail "the server refused the enrollment token$(Problem-Detail $_). Nothing was installed." }
    if ($status) { Fail "checking the token at $Server answered HTTP $status$(Problem-Detail $_). Nothing was installed." }
    Fail "cannot reach the server at ${Server}: $($_.Exception.Message) - is it running, and is -Server right? Nothing was installed."
  }

  $jar = Join-Path $stage 'nightshift-agent.jar'
  try {
    $expected = ((Invoke-WebRequest -UseBasicParsing -Uri "$Server/install/nightshift-agent.jar.sha256").Content -split '\s+')[0]
    Invoke-WebRequest -UseBasicParsing -Uri "$Server/install/nightshift-agent.jar" -OutFile $jar
  } catch {
    Fail "downloading the agent from $Server failed: $($_.Exception.Message)$(Problem-Detail $_). Nothing was installed."
  }
  $actual = (Get-FileHash -Algorithm SHA256 -Path $jar).Hash.ToLowerInvariant()
  if ($actual -ne $expected.ToLowerInvariant()) {
    Fail "the downloaded agent's SHA-256 is $actual but the server says ${expected}: the download was cut short or changed on the way (a proxy?). Nothing was installed; run this again."
  }
  $version = (& $javaExe -jar $jar version 2>&1 | Select-Object -First 1 | Out-String).Trim()
  if ($LASTEXITCODE -ne 0) { Fail "the downloaded agent does not start with ${javaExe}: $version. Nothing was installed." }

  # ---- install ----
  foreach ($d in 'bin', 'lib', 'etc', 'data') { New-Item -ItemType Directory -Force -Path (Join-Path $Prefix $d) | Out-Null }
  New-Item -ItemType File -Force -Path (Join-Path $Prefix 'installed-by-install-agent.ps1') | Out-Null
  Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
  Move-Item -Force $jar (Join-Path $Prefix 'lib\nightshift-agent.jar')
  Set-Content -Encoding ascii -Path (Join-Path $Prefix 'lib\nightshift-agent.jar.sha256') -Value "$expected  nightshift-agent.jar"

  # Java properties: backslashes are escapes, so paths are written with forward slashes
  $data = (Join-Path $Prefix 'data') -replace '\\', '/'
  $props = @("# Written by $Server/install/install-agent.ps1; keys as in docs/agent.md (Settings)",
    "server=$Server", "enrollment-token=$Token", "data-dir=$data")
  if ($Name) { $props += "name=$($Name -replace '\\', '\\')" }
  if ($Slots -gt 0) { $props += "slots=$Slots" }
  if ($Label.Count -gt 0) { $props += "labels=$($Label -join ',')" }
  if ($IdlePolicy) { $props += "idle-policy=$IdlePolicy" }
  if ($HostIdleFile) { $props += "host-idle-file=$($HostIdleFile -replace '\\', '/')" }
  # release keys ('ssh-ed25519 AAAA... comment' or files of them): docs/security.md, Signed releases
  if ($TrustedKey.Count -gt 0) { $props += "trusted-keys=$(($TrustedKey | ForEach-Object { $_ -replace '\\', '/' }) -join ';')" }
  if ($AllowUnsigned) { $props += 'allow-unsigned=true' }
  $properties = Join-Path $Prefix 'etc\agent.properties'
  New-Item -ItemType File -Force -Path $properties | Out-Null
  Restrict-ToUser $properties # before the token is in it
  Set-Content -Encoding ascii -Path $properties -Value $props

  $launcher = Join-Path $Prefix 'bin\nightshift-agent.cmd'
  Set-Content -Encoding ascii -Path $launcher -Value @(
    '@echo off',
    'rem The Nightshift agent with the settings in etc\agent.properties (written by install-agent.ps1)',
    "set NIGHTSHIFT_CONFIG=$properties",
    "set NIGHTSHIFT_DATA_DIR=$(Join-Path $Prefix 'data')",
    "`"$javaExe`" -Xmx256m -jar `"$(Join-Path $Prefix 'lib\nightshift-agent.jar')`" %*")

  if (-not $NoService) {
    # javaw: no console window on the desktop; --config names the settings file (a path, not the token)
    # 'launch': the launcher runs the agent and follows the updates the server offers, keeping the previous version
    # to roll back to (docs/operations.md, "Upgrading agents"; untested on Windows)
    $data = Join-Path $Prefix 'data'
    $action = New-ScheduledTaskAction -Execute $Java -WorkingDirectory $data `
      -Argument "-Xmx256m -jar `"$(Join-Path $Prefix 'lib\nightshift-agent.jar')`" launch --data `"$data`" -- run --config `"$properties`""
    $trigger = New-ScheduledTaskTrigger -AtLogOn -User "$env:USERDOMAIN\$env:USERNAME"
    $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries `
      -DontStopIfGoingOnBatteries -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
      -MultipleInstances IgnoreNew -Priority 7
    $principal = New-ScheduledTaskPrincipal -UserId "$env:USERDOMAIN\$env:USERNAME" -LogonType Interactive -RunLevel Limited
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
      -Principal $principal -Description 'Nightshift worker agent (installed by install-agent.ps1)' -Force | Out-Null
    Start-ScheduledTask -TaskName $TaskName
    Write-Host "Registered and started the scheduled task '$TaskName' (at logon of $env:USERNAME)"
  }
  $createdPrefix = $false
  Write-Host "Installed Nightshift $version into $Prefix (settings: $properties)"
  if ($NoService) { Write-Host "  no task registered (-NoService); start it with: `"$launcher`" run" }
  Write-Host "  status: `"$launcher`" status   uninstall: install-agent.ps1 -Uninstall -Prefix `"$Prefix`""
} finally {
  Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $stage
  if ($createdPrefix -and (Test-Path $Prefix)) {
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $Prefix
    Write-Host "nothing was installed (removed $Prefix again)"
  }
}
