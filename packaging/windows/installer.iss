; Inno Setup 6.3+ script for ECMO Ward on Windows (x64).
;
; 1. Build the app first, from the checkout root:   pyinstaller --noconfirm packaging\ecmo_ward.spec
;    (this makes dist\ECMOWard\ECMOWard.exe and its _internal\ folder)
; 2. Then compile this script:                       iscc packaging\windows\installer.iss
;    or with a version:                              iscc /DAppVersion=0.2.0 packaging\windows\installer.iss
;    The installer is written to dist\installer\ECMOWard-Setup-<version>.exe
;
; The installer puts the program in Program Files. It never touches the clinical data: the app keeps
; its SQLite database, backups and logs in the user's data folder (%LOCALAPPDATA%\ECMOWard\ECMOWard,
; or ECMO_DATA_DIR), and uninstalling leaves that folder alone (records are kept for 30 years).
; Never put the database on a network drive; several PCs share one PostgreSQL server instead.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "ECMO Ward"
#define AppExe "ECMOWard.exe"
#define Root AddBackslash(SourcePath) + "..\.."

[Setup]
; AppId identifies the product for upgrades and uninstall: never change it.
AppId={{A7079A09-EFE8-449F-8E7F-D4CE0BB94559}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=ECMO Ward
DefaultDirName={autopf}\ECMO Ward
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\{#AppExe}
OutputDir={#Root}\dist\installer
OutputBaseFilename=ECMOWard-Setup-{#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Ward PCs: install for all users by default; an installer run without admin rights may choose
; a per-user install instead.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
; Close a running copy before files are replaced.
CloseApplications=yes
RestartApplications=no
#if FileExists(Root + "\resources\icons\ecmo-ward.ico")
SetupIconFile={#Root}\resources\icons\ecmo-ward.ico
#endif

[Languages]
; Simplified Chinese first (the wards' language) when this Inno Setup has the translation, either
; in its Languages folder or next to this script.
#if FileExists(AddBackslash(CompilerPath) + "Languages\ChineseSimplified.isl")
Name: "zh_CN"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"
#elif FileExists(AddBackslash(SourcePath) + "ChineseSimplified.isl")
Name: "zh_CN"; MessagesFile: "{#AddBackslash(SourcePath)}ChineseSimplified.isl"
#endif
Name: "en"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
; The whole PyInstaller folder: ECMOWard.exe and _internal\ (Python, Qt, resources\, db\, fonts).
Source: "{#Root}\dist\ECMOWard\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle whole, so files dropped by a newer build do not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
