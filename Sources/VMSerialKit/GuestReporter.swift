/// The one-shot reporter vmserial installs into a Linux guest (`verify --mode guest`): a POSIX
/// sh script plus one hook that runs it once per boot (systemd unit, init.d script or an
/// rc.local line). At each boot it writes a version 2 report (images/README.md) to
/// `report.<n>` in ``stateDirectory`` and to the guest's second serial port, then does the
/// next action of its plan (poweroff, reboot or stay).
///
/// The texts are raw string literals (`#"""`…`"""#`): what is between the delimiters is
/// installed byte for byte (plus no trailing newline beyond the last line's). The reporter's
/// data gathering is not here but in images/gather.sh, shared with the probe, and embedded
/// through the generated `GuestGather`. `vmserial reporter --output DIR` writes the installed
/// texts out (images/try-guest.sh tests them that way).
public enum GuestReporter {
    /// Where things live inside the guest.
    public static let scriptPath = "/usr/local/sbin/vmserial-report"
    /// Plan and reports. The reporter counts `report.*` here for its boot number; its
    /// temporary files start with a dot. A folder of the reporter's own: `/var/lib/vmserial` is
    /// vmserial's state folder on a host, and a guest that runs vmserial keeps its registry there.
    public static let stateDirectory = "/var/lib/vmserial-reporter"
    /// One action a line: `poweroff`, `reboot` or `stay`; the reporter pops the first line at
    /// each boot (missing or empty file: poweroff).
    public static let planPath = "/var/lib/vmserial-reporter/plan"
    /// The report of boot `boot` (1-based): `/var/lib/vmserial-reporter/report.<boot>`.
    public static func reportPath(boot: Int) -> String { "\(stateDirectory)/report.\(boot)" }

    /// Whether `name` (in ``stateDirectory``) is a file the reporter or its installer writes: the
    /// plan, `report.<n>`, or a temporary `.body.<pid>` / `.report.<pid>`. Removal takes only these.
    public static func isOwnFile(_ name: String) -> Bool {
        if name == "plan" { return true }
        for prefix in ["report.", ".body.", ".report."] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            return !rest.isEmpty && rest.allSatisfy(\.isNumber)
        }
        return false
    }
    public static let initdHookPath = "/etc/init.d/S99vmserial-report"
    public static let systemdUnitPath = "/etc/systemd/system/vmserial-report.service"
    public static let systemdWantsLink = "/etc/systemd/system/multi-user.target.wants/vmserial-report.service"
    /// Every line vmserial adds to /etc/rc.local contains this marker (removal: drop those lines).
    public static let rcLocalMarker = "# vmserial-report hook (added by vmserial)"

    /// The reporter: `vmserial-report [systemd|initd|rclocal]` (the hook's kind, reported in
    /// the `boot` line; without it: systemd if /run/systemd/system exists, else initd).
    /// Runs under busybox sh, dash and bash, with tools busybox and coreutils both have (od,
    /// tr, sed, cut, wc, tail -c, readlink -f, fractional sleep, sync, mv, stty; no awk).
    /// Never fails the boot: it always exits 0, and watchdogs bound the data gathering
    /// (60 s) and the serial write (10 s).
    /// Test-only environment: VMSERIAL_STATE (another state directory) and
    /// VMSERIAL_REPORT_DRYRUN=1 (print the serial copy and the action on stdout instead).
    public static let script = scriptHead + "\n\n" + GuestGather.functions + "\n" + scriptTail

    /// The reporter up to the shared gathering functions (GuestGather, from images/gather.sh).
    static let scriptHead = #"""
#!/bin/sh
# vmserial guest reporter, installed by vmserial at /usr/local/sbin/vmserial-report and
# run once per boot by its hook (systemd unit, /etc/init.d/S99vmserial-report or an
# /etc/rc.local line). It
#   1. numbers this boot: n = 1 + the number of report.* files in the state directory;
#   2. gathers, like the vmserial probe (images/probe-init), the SMBIOS identity and one
#      line per disk with its serial as the guest sees it, plus the /dev/disk/by-id links;
#   3. writes the version 2 report (images/README.md) to report.<n> (temp file, sync,
#      rename, sync) and, raw, to the second serial port (/dev/ttyS1), else /dev/console;
#   4. pops the first line of the plan (poweroff | reboot | stay; default poweroff) and
#      does it with the init system's own poweroff/reboot, so filesystems unmount cleanly.
# It never hangs the boot (watchdogs) and always exits 0.
# Usage: vmserial-report [systemd|initd|rclocal]
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
umask 022

STATE=${VMSERIAL_STATE:-/var/lib/vmserial-reporter}
PLAN=$STATE/plan
DRYRUN=${VMSERIAL_REPORT_DRYRUN:-0}
WATCHDOG_SECONDS=60
PORT_SECONDS=10

say() { echo "vmserial-report: $*" 2>/dev/null; }
uptime_s() { cut -d' ' -f1 /proc/uptime 2>/dev/null; }

init_kind=$1
case $init_kind in
systemd|initd|rclocal) ;;
*) if [ -d /run/systemd/system ]; then init_kind=systemd; else init_kind=initd; fi ;;
esac

mkdir -p "$STATE" 2>/dev/null
n=1
for f in "$STATE"/report.*; do
    [ -e "$f" ] && n=$((n + 1))
done
say "boot $n ($init_kind) at $(uptime_s)"

BODY=$STATE/.body.$$
REPORT_TMP=$STATE/.report.$$
: > "$BODY" 2>/dev/null || { BODY=/tmp/.vmserial-body.$$; REPORT_TMP=/tmp/.vmserial-report.$$; : > "$BODY"; }
echo "boot n=$n init=$init_kind" >> "$BODY"
"""#

    /// The reporter after the shared gathering functions: watchdogs, the report, the plan.
    static let scriptTail = #"""
# bounded SECONDS COMMAND...: runs it in the background, kills it after SECONDS
bounded() {
    _limit=$(( $1 * 100 ))
    shift
    "$@" &
    _pid=$!
    now_cs
    _start=$now
    while kill -0 "$_pid" 2>/dev/null; do
        now_cs
        if [ $((now - _start)) -ge "$_limit" ]; then
            kill "$_pid" 2>/dev/null
            say "watchdog: stopped $1 after $((_limit / 100)) s"
            break
        fi
        sleep 0.1
    done
    wait "$_pid" 2>/dev/null
    return 0
}

# ---- gathering: the probe's lines (gather.sh, above) plus the by-id links --------------
gather() {
    addline() { echo "$1" >> "$BODY"; }
    smbios_line
    # wait for the disks: udev first where there is one, then until the set of disks
    # has not changed for 0.5 s (at most 10 s), as the probe does
    if command -v udevadm >/dev/null 2>&1; then
        udevadm settle --timeout=30 >/dev/null 2>&1
    fi
    settle_disks
    disk_lines
    # the guest's own names for its disks
    byid_lines
}
bounded "$WATCHDOG_SECONDS" gather

# ---- the report ----------------------------------------------------------------------
# a line cut short by the watchdog still ends before the END line
if [ -s "$BODY" ] && [ "$(tail -c 1 "$BODY" | od -An -tx1 | tr -d ' \n')" != 0a ]; then
    echo >> "$BODY"
fi
lines=$(wc -l < "$BODY" 2>/dev/null | tr -d ' ')
case $lines in ''|*[!0-9]*) lines=0 ;; esac
REPORT=$STATE/report.$n
{
    echo "VMSERIAL-REPORT-BEGIN version=2"
    cat "$BODY" 2>/dev/null
    echo "VMSERIAL-REPORT-END lines=$lines"
} > "$REPORT_TMP" 2>/dev/null
rm -f "$BODY"
sync
if mv -f "$REPORT_TMP" "$REPORT" 2>/dev/null; then
    sync
else
    say "could not write $REPORT"
    REPORT=$REPORT_TMP
fi

# the serial copy: ttyS1 when the VM has a second UART (type 0 = no such port)
port=""
if [ -c /dev/ttyS1 ] && [ "$(cat /sys/class/tty/ttyS1/type 2>/dev/null)" != 0 ]; then
    port=/dev/ttyS1
fi
write_port() {
    if [ "$DRYRUN" = 1 ]; then
        echo "serial copy ($1):"
        cat "$REPORT"
    else
        [ "$1" = /dev/ttyS1 ] && stty raw -echo 115200 < "$1" 2>/dev/null
        cat "$REPORT" > "$1"
    fi
}
bounded "$PORT_SECONDS" write_port "${port:-/dev/console}"
say "report $n written ($lines lines, serial copy on ${port:-/dev/console}) at $(uptime_s)"

# ---- the plan ------------------------------------------------------------------------
action=poweroff
if [ -f "$PLAN" ]; then
    first=$(sed -n 1p "$PLAN" 2>/dev/null | tr -d ' \t\r')
    sed 1d "$PLAN" > "$PLAN.new" 2>/dev/null && mv -f "$PLAN.new" "$PLAN" 2>/dev/null
    sync
    case $first in poweroff|reboot|stay) action=$first ;; esac
fi
say "next: $action"
if [ "$DRYRUN" = 1 ]; then
    echo "action: $action"
    exit 0
fi
case $action in
stay) ;;
*)
    # systemd: queue the job and return, so this unit never holds up the shutdown
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl --no-block "$action" 2>/dev/null && exit 0
    fi
    "$action" 2>/dev/null || busybox "$action" 2>/dev/null || say "$action failed"
    ;;
esac
exit 0

"""#

    /// `/etc/init.d/S99vmserial-report`: rcS-style init (busybox: rcS runs /etc/init.d/S??*
    /// with `start`), also usable as an LSB script.
    public static let initdHook = #"""
#!/bin/sh
### BEGIN INIT INFO
# Provides:          vmserial-report
# Required-Start:    $local_fs $remote_fs
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:
# Short-Description: vmserial one-shot disk serial report
### END INIT INFO
# Installed by vmserial; runs /usr/local/sbin/vmserial-report once per boot.
case $1 in
start)
    if [ -x /usr/local/sbin/vmserial-report ]; then
        /usr/local/sbin/vmserial-report initd
    fi ;;
stop|restart|force-reload|status) ;;
*) echo "usage: $0 start|stop" >&2 ;;
esac
exit 0

"""#

    /// `/etc/systemd/system/vmserial-report.service`, enabled through ``systemdWantsLink``.
    /// Ordered after local-fs and udev (settle/trigger, where present; the script also runs
    /// `udevadm settle`). Never fails the boot (`-` prefix), bounded start, and it queues
    /// poweroff/reboot without waiting (`systemctl --no-block`), so shutdown is never held up;
    /// with the default dependencies it is stopped (at most 10 s) by shutdown.target anyway.
    public static let systemdUnit = #"""
[Unit]
Description=vmserial one-shot disk serial report
After=local-fs.target systemd-remount-fs.service systemd-udev-trigger.service systemd-udev-settle.service
ConditionPathExists=/usr/local/sbin/vmserial-report

[Service]
Type=oneshot
ExecStart=-/usr/local/sbin/vmserial-report systemd
TimeoutStartSec=180
TimeoutStopSec=10
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target

"""#

    /// Lines for /etc/rc.local (before its final `exit 0`). Safe under `#!/bin/sh -e`.
    public static let rcLocalHook = #"""
[ ! -x /usr/local/sbin/vmserial-report ] || /usr/local/sbin/vmserial-report rclocal || true # vmserial-report hook (added by vmserial)

"""#
}
