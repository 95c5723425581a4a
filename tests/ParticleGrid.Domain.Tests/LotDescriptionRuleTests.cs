using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

/// <summary>A lot's container volume and product: set once by runs, changed only by an admin (the rule the store applies).</summary>
public sealed class LotDescriptionRuleTests
{
    [Theory]
    [InlineData(null, null, 2.0, "mAb-7", 2.0, "mAb-7")]     // nothing set: everything given is recorded
    [InlineData(2.0, "mAb-7", 2.0, "mAb-7", 2.0, "mAb-7")]   // the same again, as every run of a lot sends it
    [InlineData(2.0, "mAb-7", null, null, 2.0, "mAb-7")]     // nothing given keeps what is stored (no erasing)
    [InlineData(2.0, "mAb-7", null, "  ", 2.0, "mAb-7")]     // a blank product is no product
    [InlineData(2.0, null, 2.0, " mAb-7 ", 2.0, "mAb-7")]    // a product set for the first time, trimmed
    public void Setting_unset_values_or_sending_the_stored_ones_is_no_change(double? storedVolume, string? storedProduct, double? volume, string? product,
        double? expectedVolume, string? expectedProduct)
    {
        var outcome = LotDescriptionRule.Merge(storedVolume, storedProduct, volume, product);
        Assert.Empty(outcome.Changes);
        Assert.Equal((expectedVolume, expectedProduct), (outcome.ContainerVolumeMl, outcome.Product));
    }

    [Fact]
    public void A_different_value_for_one_already_set_is_a_change_in_words_and_the_new_values_win_for_an_admin()
    {
        var outcome = LotDescriptionRule.Merge(2.0, "mAb-7", 0.5, "mAb-8");
        Assert.Equal(["container volume 2 mL -> 0.5 mL", "product 'mAb-7' -> 'mAb-8'"], outcome.Changes);
        Assert.Equal((0.5, "mAb-8"), (outcome.ContainerVolumeMl, outcome.Product));
    }
}
