namespace ParticleGrid.Domain;

/// <summary>
/// The checks of one section of a site's settings (<see cref="VerdictPolicy"/>, <see cref="DomainShiftPolicy"/>,
/// <see cref="ModelGatePolicy"/>). Every failed check reads the same way, "section: Setting value requirement" (e.g.
/// "gate: Margin 1.5 must be between 0 and 1 ..."), so a host that refuses to start says in one line which appsettings
/// entry to fix and why.
/// </summary>
internal readonly struct SettingsCheck(string section)
{
    /// <summary>Throws <see cref="ArgumentException"/> with that line unless <paramref name="holds"/>.</summary>
    /// <param name="setting">The setting's name as appsettings spells it (its property's name).</param>
    /// <param name="requirement">What the value must be, starting "must ...".</param>
    public void Require<T>(bool holds, string setting, T value, string requirement)
    {
        if (!holds) throw new ArgumentException($"{section}: {setting} {value} {requirement}");
    }
}
