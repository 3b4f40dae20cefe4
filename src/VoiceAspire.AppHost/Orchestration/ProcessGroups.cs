using System.Runtime.InteropServices;

namespace VoiceAspire.AppHost.Orchestration;

/// <summary>
/// Every child runs in a process group (and session) of its own (started through <c>setsid</c>), so stopping it
/// reaches whatever it spawned too: SIGTERM to the group, SIGKILL after a grace period.
/// </summary>
internal static partial class ProcessGroups
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Wraps a command so that it becomes the leader of a new session and process group (pgid = its pid).</summary>
    public const string SetSid = "setsid";

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="pgid"/>; false when none is left.</summary>
    public static bool Signal(int pgid, int signal) => pgid > 1 && Kill(-pgid, signal) == 0;

    /// <summary>True while any process (zombies included) is still in the group.</summary>
    public static bool Exists(int pgid) => Signal(pgid, 0);

    /// <summary>SIGTERM, then SIGKILL once <paramref name="grace"/> is over; returns when the group is gone (or after 5 s more).</summary>
    public static async Task TerminateAsync(int pgid, TimeSpan grace)
    {
        if (!Signal(pgid, SigTerm)) return;
        if (await GoneAsync(pgid, grace)) return;
        Signal(pgid, SigKill);
        await GoneAsync(pgid, TimeSpan.FromSeconds(5));
    }

    private static async Task<bool> GoneAsync(int pgid, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (Exists(pgid))
        {
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(25);
        }
        return true;
    }
}
