namespace ParticleGrid.Ingestion;

/// <summary>
/// A one-line progress bar on standard error (so standard output stays clean for --json). On a terminal it redraws
/// in place; when standard error is a file or pipe (CI logs) it prints a line at most every few seconds and at the end.
/// </summary>
public sealed class ConsoleProgressBar(string label, int total)
{
    const int Width = 30;
    static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(5);
    readonly bool interactive = !Console.IsErrorRedirected;
    readonly Lock gate = new();
    DateTime lastLog = DateTime.MinValue;
    int lastLength;

    public void Report(int done, string detail = "")
    {
        lock (gate)
        {
            done = Math.Clamp(done, 0, total);
            bool finished = done == total;
            if (!interactive && !finished && DateTime.UtcNow - lastLog < LogInterval) return;
            lastLog = DateTime.UtcNow;
            int filled = total == 0 ? Width : done * Width / total;
            string line = $"{label} [{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total} {detail}".TrimEnd();
            if (interactive)
            {
                Console.Error.Write("\r" + line.PadRight(lastLength));
                lastLength = line.Length;
                if (finished) Console.Error.WriteLine();
            }
            else Console.Error.WriteLine(line);
        }
    }

    /// <summary>Ends the bar's line (if drawn in place) and prints <paramref name="message"/> under it.</summary>
    public void Finish(string message)
    {
        lock (gate)
        {
            if (interactive && lastLength > 0) Console.Error.Write("\r" + new string(' ', lastLength) + "\r");
            lastLength = 0;
            Console.Error.WriteLine(message);
        }
    }
}
