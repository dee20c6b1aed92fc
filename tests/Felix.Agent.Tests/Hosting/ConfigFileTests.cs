using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Tests.Hosting;

public class ConfigFileTests
{
    [Fact]
    public void Sections_and_comments_are_ignored_and_names_keep_their_origin()
    {
        var layer = IniFile.Parse("/etc/felix/felix.cfg", "[global]\n# a comment\n; another\n\nhealthport = 7001\r\nLogSeverityScreen: DEBUG\n");

        Assert.Equal(ConfigLayerKind.ConfigFile, layer.Kind);
        Assert.Equal(
            [new ConfigEntry("healthport", "7001", "config file /etc/felix/felix.cfg line 5"),
             new ConfigEntry("LogSeverityScreen", "DEBUG", "config file /etc/felix/felix.cfg line 6")],
            layer.Entries);
    }

    [Fact]
    public void A_line_that_is_not_a_setting_is_an_error_with_its_line_number()
    {
        var error = Assert.Throws<ConfigException>(() => IniFile.Parse("/f.cfg", "[global]\nHealthPort 9099\n"));
        Assert.Contains("/f.cfg line 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_named_config_file_that_does_not_exist_stops_start_up()
    {
        var resolution = ConfigLoader.Load("/nonexistent/felix.cfg", []);

        var error = Assert.Single(resolution.Errors);
        Assert.Contains("/nonexistent/felix.cfg", error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_file_that_is_a_directory_cannot_be_read_and_says_so()
    {
        var resolution = ConfigLoader.Load(Path.GetTempPath(), []);

        var error = Assert.Single(resolution.Errors);
        Assert.Contains("cannot be read", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_named_config_file_is_read_and_the_environment_still_wins()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "[global]\nHealthPort = 7002\nMetadataPort = 7003\n");
            var config = ConfigLoader.Load(path, [new("FELIX_HEALTHPORT", "7004")]).Config!;

            Assert.Equal(7004, config.HealthPort);
            Assert.Equal(7003, config.MetadataPort);
            Assert.Equal($"config file {path} line 3", config.OriginOf(ConfigParameters.MetadataPort));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
