// What the tests need beside .NET, and how each is installed. Linked into every test project that needs one:
//   <Compile Include="..\Shared\Prerequisites.cs" Link="Support\Prerequisites.cs" />
// with a PackageReference to Xunit.SkippableFact. PostgreSQL is checked by a login when PARTICLEGRID_NPGSQL is
// defined (the projects that have Npgsql), else by a TCP connect alone.
//
// Each project has ONE test per prerequisite (class Prerequisites, e.g. Prerequisites.Helm_is_installed) that calls
// Prerequisite.X.AssertInstalled(): when X is missing it fails with one line naming the command that installs it.
// Every other test that needs X calls Prerequisite.X.SkipIfMissing() (and is a [SkippableFact]/[SkippableTheory]):
// it is skipped, pointing at that test, so a bare `dotnet test` shows one failure per missing prerequisite.
// Under CI (.ci/run installs everything and sets PARTICLEGRID_TEST_PREREQUISITES=required) nothing is skipped:
// a missing prerequisite fails every test that needs it.

using System.Data.Common;
using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;
using Xunit.Sdk;

namespace ParticleGrid.Testing
{
    /// <summary>Something a test needs beside .NET, how to tell whether it is there, and the command that installs it.</summary>
    public sealed class Prerequisite
    {
        /// <summary>
        /// Set to <see cref="RequiredMode"/> ("required") and a missing prerequisite fails every test that needs it instead
        /// of skipping it (.ci/run sets it: under CI nothing is skipped).
        /// </summary>
        public const string ModeVariable = "PARTICLEGRID_TEST_PREREQUISITES";

        /// <summary>The value of <see cref="ModeVariable"/> that makes every prerequisite required.</summary>
        public const string RequiredMode = "required";

        /// <summary>What installs every prerequisite at once (and then runs the tests, as CI does).</summary>
        public const string InstallEverything = "bash .ci/run";

        /// <summary>The variable the PostgreSQL tests read a connection string from (a role that may create databases).</summary>
        public const string PostgresVariable = "PARTICLEGRID_TEST_POSTGRES";

        /// <summary>The server and role .ci/postgres.sh makes.</summary>
        public const string PostgresDefault = "Host=127.0.0.1;Port=5432;Username=particlegrid;Password=particlegrid;Database=postgres";

        /// <summary>The e2e driver's folder, relative to the repository root.</summary>
        public const string E2eFolder = "tests/e2e";

        /// <summary>Whether <see cref="ModeVariable"/> asks for every prerequisite (then nothing is skipped).</summary>
        public static bool AreRequired =>
            string.Equals(Environment.GetEnvironmentVariable(ModeVariable)?.Trim(), RequiredMode, StringComparison.OrdinalIgnoreCase);

        /// <summary>The repository root: the RepositoryRoot assembly metadata where a project sets it, else the folder
        /// above the test assembly that holds ParticleGrid.sln.</summary>
        public static string RepositoryRoot { get; } = FindRepositoryRoot();

        /// <summary>helm: .tools/bin/helm (what .ci/tools.sh installs), else helm on PATH.</summary>
        public static Prerequisite Helm { get; } = new("helm", "Helm_is_installed", "bash .ci/tools.sh", () =>
            FindTool("helm", Path.Combine(RepositoryRoot, ".tools", "bin")) is null
                ? $"neither {Path.Combine(RepositoryRoot, ".tools", "bin", "helm")} nor helm on PATH"
                : null);

        /// <summary>promtool and prometheus, from Debian's package prometheus (.ci/tools.sh installs it): on PATH or in /usr/bin.</summary>
        public static Prerequisite Prometheus { get; } = new("Prometheus (promtool, prometheus)", "Prometheus_is_installed", "bash .ci/tools.sh", () =>
        {
            var missing = new[] { "promtool", "prometheus" }.Where(tool => FindTool(tool, "/usr/bin") is null).ToList();
            return missing.Count == 0 ? null : $"{string.Join(" and ", missing)} on neither PATH nor /usr/bin";
        });

        /// <summary>
        /// PostgreSQL as .ci/postgres.sh starts it (or as <see cref="PostgresVariable"/> names it): the port answers, and
        /// (where the project has Npgsql) the role logs in.
        /// </summary>
        public static Prerequisite PostgreSQL { get; } = new("PostgreSQL", "PostgreSQL_is_running", "bash .ci/postgres.sh", CheckPostgres, "is not running");

        /// <summary>Debian's PyTorch: /usr/bin/python3 imports torch and torchvision.</summary>
        public static Prerequisite Torch { get; } = new("Debian's PyTorch (python3-torch, python3-torchvision)", "PyTorch_is_installed",
            "apt-get install python3-torch python3-torchvision", CheckTorch);

        /// <summary>A C compiler (Debian's gcc with libc6-dev), for the test library that emulates a CPU without caches.</summary>
        public static Prerequisite Gcc { get; } = new("gcc (with libc6-dev)", "Gcc_is_installed", "apt-get install gcc libc6-dev", () =>
            FindTool("gcc", "/usr/bin") is null ? "gcc on neither PATH nor /usr/bin"
            : File.Exists("/usr/include/x86_64-linux-gnu/asm/prctl.h") || File.Exists("/usr/include/asm/prctl.h") ? null
            : "the kernel and C library headers (asm/prctl.h) are missing");

        /// <summary>The browser tests' Chromium (Debian's, /usr/bin/chromium) and their driver, playwright-core from npm.</summary>
        public static Prerequisite Chromium { get; } = new("Chromium (Debian's, driven by playwright-core)", "Chromium_is_installed",
            $"apt-get install chromium && (cd {E2eFolder} && npm ci)", () =>
            {
                var missing = new List<string>();
                if (!File.Exists("/usr/bin/chromium")) missing.Add("/usr/bin/chromium is missing");
                string playwright = Path.Combine(RepositoryRoot, E2eFolder, "node_modules", "playwright-core");
                if (!Directory.Exists(playwright)) missing.Add($"{playwright} is missing");
                return missing.Count == 0 ? null : string.Join(", ", missing);
            });

        private readonly Lazy<string?> _problem;

        private readonly string _absent;

        private Prerequisite(string name, string testMethod, string install, Func<string?> check, string absent = "is not installed")
        {
            Name = name;
            _absent = absent;
            TestName = "Prerequisites." + testMethod;
            Install = install;
            _problem = new Lazy<string?>(() =>
            {
                try { return check(); }
                catch (Exception e) { return $"checking it failed: {e.GetType().Name}: {e.Message}"; }
            });
        }

        /// <summary>What it is, e.g. "helm".</summary>
        public string Name { get; }

        /// <summary>The one test that fails when it is missing, e.g. "Prerequisites.Helm_is_installed".</summary>
        public string TestName { get; }

        /// <summary>The command, run from the repository root, that installs it.</summary>
        public string Install { get; }

        /// <summary>Whether it is there (asked once per process).</summary>
        public bool IsInstalled => Problem is null;

        /// <summary>Why it is not there, or null when it is.</summary>
        public string? Problem => _problem.Value;

        /// <summary>One line: what is missing and the command that installs it.</summary>
        public string MissingMessage =>
            $"{Name} {_absent} ({Problem}): run `{Install}`{(Install.Contains(".ci/") || Install.Contains("tests/") ? $" from {RepositoryRoot}" : "")} (or `{InstallEverything}`, which installs every test prerequisite and runs the tests).";

        /// <summary>For the one prerequisite test: fails, in one line and without a stack trace, when it is missing.</summary>
        public void AssertInstalled()
        {
            if (!IsInstalled) throw new PrerequisiteMissingException(MissingMessage);
        }

        /// <summary>
        /// For every other test that needs it (a [SkippableFact] or [SkippableTheory]): skips the test when it is missing,
        /// pointing at <see cref="TestName"/>; fails it instead when <see cref="ModeVariable"/> is "required".
        /// </summary>
        public void SkipIfMissing()
        {
            if (!IsInstalled && AreRequired)
                throw new PrerequisiteMissingException($"{MissingMessage} ({ModeVariable}={RequiredMode}: nothing is skipped.)");
            Skip.IfNot(IsInstalled, $"needs {Name}, which {_absent}: see the failing test {TestName} (`{Install}` installs it).");
        }

        public override string ToString() => Name;

        private static string? FindTool(string name, params string[] firstLookIn)
        {
            var directories = firstLookIn.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
            return directories.Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
        }

        private static string? CheckTorch()
        {
            const string python = "/usr/bin/python3";
            if (!File.Exists(python)) return $"{python} is missing";
            var start = new ProcessStartInfo(python)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in new[] { "-c", "import torch, torchvision" }) start.ArgumentList.Add(argument);
            // As the reference scripts run: a pyenv or virtualenv shell must not point Debian's python elsewhere.
            start.Environment.Remove("PYTHONHOME");
            start.Environment.Remove("PYTHONPATH");
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {python}");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                return $"{python} -c \"import torch, torchvision\" did not finish in 2 minutes";
            }
            process.WaitForExit();
            if (process.ExitCode == 0) return null;
            string last = (error.Result + output.Result).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            return $"{python} cannot import torch and torchvision: {(last.Length > 0 ? last : $"exit status {process.ExitCode}")}";
        }

        private static string? CheckPostgres()
        {
            string connectionString = Environment.GetEnvironmentVariable(PostgresVariable) ?? PostgresDefault;
            string where = Environment.GetEnvironmentVariable(PostgresVariable) is null ? "" : $" (from {PostgresVariable})";
            var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
            string host = Value(parts, "Host", "Server") ?? "localhost";
            int port = int.TryParse(Value(parts, "Port"), out int p) ? p : 5432;
            string first = host.Split(',')[0].Trim();
            if (!first.StartsWith('/'))
            {
                int colon = first.LastIndexOf(':');
                if (colon > 0 && !first.Contains(']') && first.IndexOf(':') == colon && int.TryParse(first[(colon + 1)..], out int hostPort))
                    (first, port) = (first[..colon], hostPort);
                using var client = new TcpClient();
                try
                {
                    if (!client.ConnectAsync(first, port).Wait(TimeSpan.FromSeconds(3)))
                        return $"nothing answered at {first}:{port}{where} within 3 s";
                }
                catch (AggregateException e) when (e.InnerException is SocketException socket)
                {
                    return $"cannot connect to {first}:{port}{where}: {socket.Message}";
                }
            }
    #if PARTICLEGRID_NPGSQL
            string user = Value(parts, "Username", "User Name", "UserName", "User Id", "UserId", "User") ?? "(no username)";
            try
            {
                var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
                builder.Timeout = Math.Min(builder.Timeout, 5);
                using var connection = new Npgsql.NpgsqlConnection(builder.ToString());
                connection.Open();
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or ArgumentException)
            {
                return $"{host}:{port} answers but role {user} cannot log in{where}: {e.Message.Split('\n')[0].Trim()}";
            }
    #endif
            return null;
        }

        private static string? Value(DbConnectionStringBuilder parts, params string[] keys) =>
            keys.Select(key => parts.TryGetValue(key, out object? value) ? value?.ToString() : null).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

        private static string FindRepositoryRoot()
        {
            string? configured = typeof(Prerequisite).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
            if (!string.IsNullOrEmpty(configured)) return Path.TrimEndingDirectorySeparator(Path.GetFullPath(configured));
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "ParticleGrid.sln"))) return directory.FullName;
            }
            return Directory.GetCurrentDirectory();
        }
    }
}

// In xunit's namespace only so that xunit prints the message alone: it writes "<exception type> : " before the
// message of every exception outside Xunit.Sdk.
namespace Xunit.Sdk
{
    /// <summary>
    /// A missing prerequisite: a one-line failure that names the command that installs it. It has no stack trace
    /// (where it was noticed says nothing about what to do), so `dotnet test` prints the line alone.
    /// </summary>
    public sealed class PrerequisiteMissingException(string message) : XunitException(message)
    {
        public override string StackTrace => "";
    }
}
