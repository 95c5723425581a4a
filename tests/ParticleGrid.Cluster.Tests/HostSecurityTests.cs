using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// What the real host promises a browser and an operator (issue 17 part 6): security headers on every response, a
/// UI that needs no inline script or style under that policy, /metrics only on its own port, HTTPS with a configured
/// certificate, and the first admin token in a file only its owner can read.
/// </summary>
public sealed class HostSecurityTests : IDisposable
{
    private readonly TemporaryDirectory _data = new();

    [Fact]
    public async Task Every_response_carries_the_security_headers_and_metrics_are_only_on_the_metrics_port()
    {
        await using var host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path);
        using var anonymous = host.ClientWith(null);
        // A page, an API answer, a refusal, a miss and a body too large: each has the headers.
        var responses = new Dictionary<string, HttpResponseMessage>
        {
            ["GET /"] = await anonymous.GetAsync("/"),
            ["GET /app.js"] = await anonymous.GetAsync("/app.js"),
            ["GET /health/live"] = await anonymous.GetAsync("/health/live"),
            ["GET /lots/X without a token"] = await anonymous.GetAsync("/lots/X"),
            ["GET /no-such-route"] = await host.Http.GetAsync("/no-such-route"),
            ["POST /tokens with 2 MiB"] = await host.Http.PostAsync("/tokens", new StringContent($"{{\"name\": \"{new string('x', 2 << 20)}\"}}",
                System.Text.Encoding.UTF8, "application/json")),
        };
        Assert.Equal(HttpStatusCode.OK, responses["GET /"].StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, responses["GET /lots/X without a token"].StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, responses["POST /tokens with 2 MiB"].StatusCode);
        Assert.Contains("larger than this route accepts", await responses["POST /tokens with 2 MiB"].Content.ReadAsStringAsync());
        foreach (var (request, response) in responses)
        {
            string csp = Header(response, "Content-Security-Policy", request);
            foreach (var directive in new[] { "default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'" })
                Assert.True(csp.Contains(directive, StringComparison.Ordinal), $"{request}: CSP '{csp}' lacks {directive}");
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options", request));
            Assert.Equal("no-referrer", Header(response, "Referrer-Policy", request));
            Assert.Equal("DENY", Header(response, "X-Frame-Options", request));
        }

        // /metrics is not on the public port, with a token or without; on the metrics port Prometheus reads it without one.
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        using var prometheus = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.MetricsPort}") };
        var scrape = await prometheus.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("# TYPE ", await scrape.Content.ReadAsStringAsync());
        // ... and the API is not on the metrics port.
        Assert.NotEqual(HttpStatusCode.OK, (await prometheus.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public void The_web_UI_has_no_inline_script_or_style_that_the_policy_would_block()
    {
        string root = typeof(HostSecurityTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        string wwwroot = Path.Combine(root, "src", "ParticleGrid.Host", "wwwroot");
        string html = File.ReadAllText(Path.Combine(wwwroot, "index.html"));
        Assert.DoesNotMatch(new Regex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"<style\b|\sstyle\s*=|\son[a-z]+\s*=", RegexOptions.IgnoreCase), html);
        string js = File.ReadAllText(Path.Combine(wwwroot, "app.js"));
        // Markup built in app.js must not carry style attributes or inline handlers either; setting element.style is allowed.
        Assert.DoesNotMatch(new Regex(@"\sstyle\s*=\s*[""'\\]|setAttribute\(\s*['""]style|\son[a-z]+\s*=\s*[""']|\beval\s*\(|new\s+Function\s*\(", RegexOptions.IgnoreCase), js);
    }

    [Fact]
    public async Task With_a_certificate_configured_the_host_serves_HTTPS_with_it()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string pfx = Path.Combine(_data.Path, "https.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "s3cret"));

        // The client trusts exactly this certificate (by thumbprint), as a site pins its own.
        string? presented = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, served, _, _) =>
            {
                presented = served?.Thumbprint;
                return served?.Thumbprint == certificate.Thumbprint;
            },
        };
        await using var host = await RunningHost.StartAsync(o =>
        {
            o.DataDirectory = Path.Combine(_data.Path, "data");
            o.Https = new HttpsSettings { CertificatePath = pfx, CertificatePassword = "s3cret" };
        }, scheme: "https", handler: handler);
        Assert.Equal("https", host.Http.BaseAddress!.Scheme);
        var live = await host.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(certificate.Thumbprint, presented);
        Assert.Equal("nosniff", Header(live, "X-Content-Type-Options", "GET /health/live over HTTPS"));

        // Plain HTTP to the HTTPS port gets no answer from the API.
        using var plain = new HttpClient { BaseAddress = new Uri($"http://{host.Http.BaseAddress.Authority}"), Timeout = TimeSpan.FromSeconds(10) };
        var refused = await Record.ExceptionAsync(async () => Assert.NotEqual(HttpStatusCode.OK, (await plain.GetAsync("/health/live")).StatusCode));
        Assert.True(refused is null or HttpRequestException, $"{refused}");

        // A wrong password is one clear line at start, not a stack trace from Kestrel.
        var wrong = await Assert.ThrowsAsync<ArgumentException>(() => RunningHost.StartAsync(o =>
        {
            o.DataDirectory = Path.Combine(_data.Path, "data2");
            o.Https = new HttpsSettings { CertificatePath = pfx, CertificatePassword = "wrong" };
        }, scheme: "https"));
        Assert.Contains("cannot be read", wrong.Message);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_first_admin_token_is_written_to_a_file_only_its_owner_can_read_and_it_works()
    {
        await using var host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path, configureToken: false);
        string path = Path.Combine(_data.Path, "first-admin-token");
        Assert.True(File.Exists(path), $"no first admin token at {path}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        string token = File.ReadAllText(path).Trim();
        using var admin = host.ClientWith(token);
        var me = await admin.GetAsync("/auth/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Contains("admin", await me.Content.ReadAsStringAsync());
    }

    private static string Header(HttpResponseMessage response, string name, string request)
    {
        Assert.True(response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values),
            $"{request} ({(int)response.StatusCode}) has no {name} header");
        return string.Join(", ", values!);
    }

    public void Dispose() => _data.Dispose();
}
