using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Connections.Security;
using Orleans.Serialization;

namespace ParticleGrid.Abstractions;

// What a site's silos and every client (the CLI, particlegrid-ingest on an instrument PC) must agree on to talk:
// here, once, so neither side keeps a copy that could drift.

/// <summary>The defaults a silo listens with and a client connects with.</summary>
public static class SiteDefaults
{
    public const string ClusterId = "particlegrid", ServiceId = "particlegrid";

    /// <summary>The Orleans client gateway port of a site's gateway silos.</summary>
    public const int GatewayPort = 30000;
}

/// <summary>How an Orleans client proves who it is: the same bearer tokens as HTTP, carried in the request context.</summary>
public static class SiteCredentials
{
    /// <summary>The request-context key of the caller's token (pgt_...). Checked only on calls that come from a client connection.</summary>
    public const string TokenKey = "particlegrid-token";
}

/// <summary>The serializer set-up of silos and clients alike.</summary>
public static class ParticleGridSerialization
{
    /// <summary>
    /// Domain records (lot profiles, votes) cross grain calls as JSON, so Domain needs no Orleans attribute; grain
    /// contracts use Orleans' own codecs. Silos and clients must register the same, or a lot profile does not deserialize.
    /// </summary>
    public static IServiceCollection AddParticleGridSerialization(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace?.StartsWith("ParticleGrid.Domain", StringComparison.Ordinal) == true));
}

/// <summary>
/// Mutual TLS for silo-to-silo and client-to-gateway traffic: this process's certificate (a PFX with its key, mounted
/// from a Secret) and what it trusts in a peer: certificates issued by the site's CA (<see cref="CaCertificatePath"/>)
/// and/or certificates named by their SHA-256 thumbprint (<see cref="TrustedThumbprints"/>). Nothing else: not a
/// certificate chaining to a public root, which anyone can buy.
/// </summary>
public sealed class TlsSettings
{
    /// <summary>This silo's or client's certificate with its private key (PFX). Unset: no TLS.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>The site CA's certificate (PEM or DER, no key): a peer must present a certificate it issued.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>
    /// Peers trusted by their certificate's SHA-256 thumbprint (hex, comma-separated), for a site without a CA of its own
    /// (e.g. one self-signed certificate shared by every silo and client).
    /// </summary>
    public string? TrustedThumbprints { get; set; }

    /// <summary>
    /// Cluster mode without TLS (PARTICLEGRID__TLS__INSECURE=true, or serve --insecure-cluster): for a developer's machine
    /// only. Anyone who can reach the silo or gateway port then joins the cluster or calls grains as a client.
    /// </summary>
    public bool Insecure { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    /// <summary>The settings a client process (ingest --cluster) takes from PARTICLEGRID__TLS__* variables.</summary>
    public static TlsSettings FromEnvironment() => new()
    {
        CertificatePath = Environment.GetEnvironmentVariable("PARTICLEGRID__TLS__CERTIFICATEPATH"),
        CertificatePassword = Environment.GetEnvironmentVariable("PARTICLEGRID__TLS__CERTIFICATEPASSWORD"),
        CaCertificatePath = Environment.GetEnvironmentVariable("PARTICLEGRID__TLS__CACERTIFICATEPATH"),
        TrustedThumbprints = Environment.GetEnvironmentVariable("PARTICLEGRID__TLS__TRUSTEDTHUMBPRINTS"),
    };
}

/// <summary>What a TLS peer must be on a connection: a silo (silo port, and a client's view of a gateway) or a client (gateway port).</summary>
public enum PeerRole
{
    Silo,
    Client,
}

/// <summary>
/// The site's certificates and who they let in. A certificate says what it is for in its extended key usage, which the
/// site CA sets when it issues it: a silo's has server authentication (it accepts connections) and client authentication
/// (it opens them to other silos); an Orleans client's (an instrument PC, the CLI) has client authentication only. The
/// silo port therefore admits silos only, whatever CA a client certificate came from, and the gateway port admits any
/// certificate of the site with client authentication; a call that arrives there is a client's and must carry a token.
/// </summary>
public sealed class SiteCertificate
{
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1", ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2Collection _authorities;
    private readonly HashSet<string> _pinned;

    private SiteCertificate(X509Certificate2 local, X509Certificate2Collection authorities, HashSet<string> pinned)
    {
        Local = local;
        _authorities = authorities;
        _pinned = pinned;
    }

    /// <summary>This process's own certificate, with its key.</summary>
    public X509Certificate2 Local { get; }

    /// <summary>Loads the certificate and what it trusts; says in one line what is missing or unreadable.</summary>
    /// <param name="role">What this process is: its own certificate must pass the check its peers make.</param>
    /// <exception cref="ArgumentException">A missing or unreadable file, no CA and no thumbprints, or a certificate the site would refuse.</exception>
    public static SiteCertificate Load(TlsSettings settings, PeerRole role)
    {
        var local = LoadPfx(settings);
        var authorities = new X509Certificate2Collection();
        if (!string.IsNullOrWhiteSpace(settings.CaCertificatePath))
        {
            string path = settings.CaCertificatePath;
            if (!File.Exists(path)) throw new ArgumentException($"site CA certificate {path} not found (ParticleGrid:Tls:CaCertificatePath)");
            try
            {
                authorities.ImportFromPemFile(path);
                if (authorities.Count == 0) authorities.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new ArgumentException($"site CA certificate {path} cannot be read (PEM or DER): {e.Message}");
            }
        }
        var pinned = (settings.TrustedThumbprints ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => t.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant()).ToHashSet();
        if (authorities.Count == 0 && pinned.Count == 0)
            throw new ArgumentException("TLS needs what to trust: the site CA's certificate (ParticleGrid:Tls:CaCertificatePath) " +
                                        "or peers' SHA-256 thumbprints (ParticleGrid:Tls:TrustedThumbprints)");
        var site = new SiteCertificate(local, authorities, pinned);
        // A silo or client whose own certificate its peers would refuse fails here, with the reason, not later as a
        // connection that closes.
        if (site.Refusal(local, role) is { } refusal)
            throw new ArgumentException($"TLS certificate {settings.CertificatePath} would be refused by the site: {refusal}");
        return site;
    }

    private static X509Certificate2 LoadPfx(TlsSettings settings)
    {
        string path = settings.CertificatePath!;
        if (!File.Exists(path)) throw new ArgumentException($"TLS certificate {path} not found (ParticleGrid:Tls:CertificatePath)");
        try
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, settings.CertificatePassword, X509KeyStorageFlags.EphemeralKeySet);
            if (!certificate.HasPrivateKey) throw new ArgumentException($"TLS certificate {path} has no private key (a PFX with its key is needed)");
            return certificate;
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"TLS certificate {path} cannot be read (a PFX with its private key, and the right password?): {e.Message}");
        }
    }

    /// <summary>
    /// Why a peer's certificate is refused for <paramref name="role"/> (null: it is trusted). Trusted: issued by the site
    /// CA (chain built against that CA alone, the system's roots ignored) or pinned by thumbprint, valid now, and with
    /// the key usage of the role.
    /// </summary>
    public string? Refusal(X509Certificate2? remote, PeerRole role)
    {
        if (remote is null) return "no certificate was presented";
        string usage = role == PeerRole.Silo ? ServerAuthentication : ClientAuthentication;
        string name = role == PeerRole.Silo ? "a silo's (server authentication)" : "a client's (client authentication)";
        if (_pinned.Contains(remote.GetCertHashString(HashAlgorithmName.SHA256)))
        {
            var now = DateTime.Now;
            if (now < remote.NotBefore || now > remote.NotAfter) return $"{remote.Subject}: pinned, but not valid now ({remote.NotBefore:u} to {remote.NotAfter:u})";
            return HasUsage(remote, usage) ? null : $"{remote.Subject}: pinned, but its key usage is not {name}";
        }
        if (_authorities.Count == 0) return $"{remote.Subject}: its thumbprint is not one the site trusts";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        // A private CA publishes no revocation list; a lost certificate is handled by rotating the CA (docs/security.md).
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        if (chain.Build(remote)) return HasUsage(remote, usage) ? null : $"{remote.Subject}: a site certificate, but its key usage is not {name}";
        string problems = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return $"{remote.Subject} (issued by {remote.Issuer}) is not a site certificate for {name} use: {problems}";
    }

    /// <summary>
    /// Whether the certificate names this use. Stricter than X.509, which lets a certificate without the extension do
    /// anything: here a certificate must say what it is for, or a client's could open the silo port.
    /// </summary>
    private static bool HasUsage(X509Certificate2 certificate, string usage) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } eku
        && eku.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == usage);

    /// <summary>
    /// Requires a certificate on both sides; the peer must be a site certificate for <paramref name="peer"/>.
    /// <paramref name="refused"/> hears why a peer was turned away (a silo logs it).
    /// </summary>
    public void Configure(TlsOptions tls, PeerRole peer, Action<string>? refused = null)
    {
        tls.LocalCertificate = Local;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        // The platform's own verdict (errors) is ignored on purpose: it trusts public roots and checks host names, and a
        // silo's address is not in its certificate. Refusal decides alone.
        tls.RemoteCertificateValidation = (remote, _, _) =>
        {
            if (Refusal(remote, peer) is not { } refusal) return true;
            refused?.Invoke(refusal);
            return false;
        };
    }
}
