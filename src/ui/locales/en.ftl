# Salama: English. Every id here must exist in ar.ftl and fr.ftl (a test checks).
# The space before a trailing "*" is a no-break space (U+00A0), so the star never starts a line alone.
language-name = English
skip-to-content = Skip to main content
leave-quickly = Leave quickly
lang-switch-label = Language
nav-label = Main pages
nav-report = Report
nav-about = What happens next
nav-help = Staying safe
site-tagline = Report child sexual abuse online, anonymously.

choose-title = Choose your language
choose-intro = Report child sexual abuse material and the exploitation of children online. Anonymous, no account, no cookies.

home-title = Report child sexual abuse online
home-intro = Did you see sexual images or videos of a child online, or is someone abusing, grooming or blackmailing a child? Tell us where. You do not have to say who you are.
never-title = Never download, screenshot, copy or forward the images or videos
never-body = Not even to report them: in most countries that is itself a crime. The web address (URL) is all we need.
form-title = Your report
form-required = Fields marked * are required.
urls-label = Web addresses (URLs) *
urls-hint = One per line, up to 10. Copy them from the address bar, for example https://example.com/page
category-legend = What did you see? *
category-abuse-imagery = Sexual images or videos of a child
category-grooming = An adult grooming a child or seeking sexual contact with a child
category-sextortion = Sextortion: someone threatening to share sexual images of a child
category-other-harm = Other harm to a child online
where-legend = Where did you see it?
where-not-said = I prefer not to say
where-website = A website
where-social-network = A social network
where-messaging-app = A messaging app
where-search-engine = Search engine results
where-other = Somewhere else
description-label = Anything else we should know?
description-hint = Optional, up to { $max } characters. Do not write your name or contact details.
optional = optional
submit = Send the report
privacy-note = This site has no cookies and no scripts, keeps no logs and never learns who you are. Your report is locked with the analysts' keys the moment it arrives.

errors-title = Your report was not sent yet. Please check:
error-prefix = Error:
err-url-missing = Enter at least one web address.
err-url-too-many = Enter at most 10 web addresses.
err-url-invalid = Line { $line } is not a web address. It should look like https://example.com/page
err-url-scheme = Line { $line } must start with http:// or https://
err-url-too-long = Line { $line } is longer than { $max } characters.
err-category-missing = Choose what you saw.
err-category-invalid = Choose one of the options listed.
err-where-invalid = Choose one of the options listed.
err-description-too-long = Shorten this to { $max } characters or fewer.
err-description-control = This text contains characters that cannot be sent. Please type it again.
err-report-too-large = This report is too long to send. Remove some addresses and send them in a second report.

thanks-title = Thank you. Your report was received.
thanks-body = It is stored safely, locked so that only the hotline's analysts can read it.
receipt-label = Your receipt code:
receipt-explain = Write it down if you might want to contact { $org } about this report. It is shown only this once and is not linked to you.
thanks-close = You can close this page now. To leave no trace, close Tor Browser.
thanks-another = Report something else

about-title = What happens next
about-next-title = What happens to your report
about-next-body = Analysts at { $org } check every report. When the material is illegal, they work to have it removed and pass the information to the police and to partner hotlines in other countries.
about-never-title = What we never learn
about-never-body = Who you are. This service is only reachable through Tor, has no accounts, no cookies and no scripts, keeps no logs, and records only the day a report arrived, not the time.
about-receipt-title = Your receipt code
about-receipt-body = After you send a report you get a short code. If you contact { $org } about your report, quote it so they can find it. Nobody can use it to find you.
about-lock-title = How your report is protected
about-lock-body = Your report is locked (encrypted) the moment it arrives, with keys that only the analysts hold on a computer that is never online. Even someone who seized this server could not read it.

help-title = Staying safe online
help-children-title = If you are a child or a teenager
help-children-1 = It is never your fault, even if you sent a picture yourself.
help-children-2 = If someone threatens to share your pictures, do not pay and do not send more. Stop replying, keep the messages, and tell an adult you trust.
help-children-3 = Block and report the account on the app where it happened.
help-children-4 = Never agree to meet someone you only know online without a trusted adult.
help-parents-title = For parents and carers
help-parents-1 = Talk often and calmly with your children about what they do online, so they come to you when something goes wrong.
help-parents-2 = If your child is being threatened or abused, stay calm, do not blame them, keep the evidence (messages, usernames, web addresses) without copying any images, and contact the police.
help-parents-3 = Use the privacy settings of the apps and games your children use.
help-parents-4 = If you find sexual images of a child, report the web address here. Do not share or save the images.
help-where-title = Where to get help
help-where-default = If a child is in immediate danger, call the police. For support, contact a child helpline in your country.

full-title = We cannot accept reports right now
full-body = The service is temporarily unable to accept reports. Please try again later. Nothing you sent before is affected.
busy-title = The service is busy
busy-body = Too many people are using the service right now. Please wait a minute and try again.
notfound-title = Page not found
notfound-body = This page does not exist.
badrequest-title = Your browser sent something we cannot read
badrequest-body = The report could not be read. Please go back to the form and send it again.
toolarge-title = That was too much to send
toolarge-body = The report was larger than this service accepts. Please shorten the description or send fewer addresses.
method-title = Not allowed
method-body = This page cannot be used that way.
timeout-title = The connection was too slow
timeout-body = The report did not arrive completely. Please try again.
unsupported-title = Unsupported form
unsupported-body = Please use the report form on this site.
back-to-form = Back to the report form
home-link = Go to the start page
# The organisation's name when the operator has not configured one.
organisation-default = the hotline

# Per-circuit limits (src/web/admission.rs): the 429 "please wait a moment".
wait-title = Please wait a moment
wait-body = Too many requests came from your connection in a short time. Wait a minute, then try again.
wait-form-body = Your report has not been sent yet: several came from your connection very quickly, and this service takes only a few at a time from one connection. Everything you wrote is still below. Wait a moment (less than a minute), then press “Send the report” again.
