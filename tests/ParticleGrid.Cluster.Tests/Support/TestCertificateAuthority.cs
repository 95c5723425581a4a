using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// A certificate authority made for one test, as a site makes its own: its certificate (PEM, no key) in a folder, and
/// silo and client certificates it issues as PFX files, each with the key usage its role needs (docs/security.md).
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private const string Password = "test-secret";
    private readonly string _folder;
    private readonly X509Certificate2 _authority;

    public TestCertificateAuthority(string folder, string name)
    {
        _folder = folder;
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CertificatePath = Path.Combine(folder, $"{name}-ca.pem");
        File.WriteAllText(CertificatePath, _authority.ExportCertificatePem());
    }

    /// <summary>The CA's certificate (PEM): what silos and clients of this site trust.</summary>
    public string CertificatePath { get; }

    /// <summary>A silo's certificate (server and client authentication), as TLS settings that trust this CA.</summary>
    public TlsSettings Silo(string name) => Settings(Issue(name, SiteCertificate.ServerAuthentication, SiteCertificate.ClientAuthentication));

    /// <summary>An Orleans client's certificate (client authentication only), as TLS settings that trust this CA.</summary>
    public TlsSettings Client(string name) => Settings(Issue(name, SiteCertificate.ClientAuthentication));

    /// <summary>Issues a certificate with these key usages (none: no extended key usage at all) and writes it as a PFX.</summary>
    public string Issue(string name, params string[] usages)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        if (usages.Length > 0)
        {
            var oids = new OidCollection();
            foreach (string usage in usages) oids.Add(new Oid(usage));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        }
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var issued = request.Create(_authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        string path = Path.Combine(_folder, $"{name}-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(path, withKey.Export(X509ContentType.Pfx, Password));
        return path;
    }

    public TlsSettings Settings(string pfx) => new() { CertificatePath = pfx, CertificatePassword = Password, CaCertificatePath = CertificatePath };

    /// <summary>
    /// These settings as the PARTICLEGRID__TLS__* variables a particlegrid process reads: a silo's for serve, a client's
    /// for ingest/watch --cluster.
    /// </summary>
    public static Dictionary<string, string> Variables(TlsSettings tls) => new()
    {
        ["PARTICLEGRID__TLS__CERTIFICATEPATH"] = tls.CertificatePath!,
        ["PARTICLEGRID__TLS__CERTIFICATEPASSWORD"] = tls.CertificatePassword!,
        ["PARTICLEGRID__TLS__CACERTIFICATEPATH"] = tls.CaCertificatePath!,
    };

    public static X509Certificate2 Load(string pfx) => X509CertificateLoader.LoadPkcs12FromFile(pfx, Password);

    public void Dispose() => _authority.Dispose();
}
