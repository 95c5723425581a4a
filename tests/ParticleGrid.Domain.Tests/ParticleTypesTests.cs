using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class ParticleTypesTests
{
    [Theory]
    [InlineData(ParticleType.Bubble, "bubble")]
    [InlineData(ParticleType.SiliconeOil, "silicone_oil")]
    [InlineData(ParticleType.Glass, "glass")]
    [InlineData(ParticleType.Protein, "protein")]
    [InlineData(ParticleType.Fibre, "fibre")]
    public void Folder_names_round_trip(ParticleType type, string folder)
    {
        Assert.Equal(folder, ParticleTypes.FolderName(type));
        Assert.True(ParticleTypes.TryParse(folder, out ParticleType parsed));
        Assert.Equal(type, parsed);
    }

    [Theory]
    [InlineData("Silicone Oil")]
    [InlineData("silicone-oil")]
    [InlineData("SiliconeOil")]
    [InlineData("SILICONE_OIL")]
    public void Folder_names_ignore_case_and_separators(string folder)
    {
        Assert.True(ParticleTypes.TryParse(folder, out ParticleType parsed));
        Assert.Equal(ParticleType.SiliconeOil, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("rubber")]
    [InlineData("bubbles")]
    public void Unknown_folder_names_do_not_parse(string folder) =>
        Assert.False(ParticleTypes.TryParse(folder, out _));

    [Fact]
    public void The_study_has_four_types_without_fibre()
    {
        Assert.Equal([ParticleType.Bubble, ParticleType.SiliconeOil, ParticleType.Glass, ParticleType.Protein], ParticleTypes.StudyTypes);
        Assert.Equal("silicone oil", ParticleTypes.DisplayName(ParticleType.SiliconeOil));
    }
}
