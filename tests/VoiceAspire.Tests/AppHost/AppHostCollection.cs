using System.Text;

namespace VoiceAspire.Tests.AppHost;

/// <summary>Every AppHost test runs whole stacks (several real processes each): one at a time, never beside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AppHostCollection
{
    public const string Name = "apphost";
}

/// <summary>Linux process facts read from /proc (what the orphan and environment checks look at).</summary>
public static class ProcFs
{
    public static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && State(pid) is not 'Z' and not 'X';

    /// <summary>The process's environment as the kernel holds it (what it was started with).</summary>
    public static Dictionary<string, string> Environment(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ", Encoding.UTF8).Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    /// <summary>Every live process as (pid, parent pid, process group id).</summary>
    public static IReadOnlyList<(int Pid, int ParentPid, int GroupId)> Processes()
    {
        var list = new List<(int, int, int)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            var fields = StatFields(pid);
            if (fields is null || fields[0] is "Z" or "X") continue;
            list.Add((pid, int.Parse(fields[1]), int.Parse(fields[2])));
        }
        return list;
    }

    private static char State(int pid) => StatFields(pid)?[0][0] ?? 'X';

    // /proc/pid/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so split after the last ')'.
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
