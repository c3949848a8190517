# Salama desk (the analysts' page): English. Every id here must exist in desk-ar.ftl and desk-fr.ftl.
desk-brand = Salama desk
desk-queue-title = Queue
desk-never-open = URLs are shown as text on purpose. Never open them on this workstation.
desk-import-title = Import a bundle
desk-import-path = Path of the bundle file on this workstation
desk-import-button = Import
desk-imported = Imported { $added ->
        [one] { $added } report or addition
       *[other] { $added } reports and additions
    } from bundle { $digest }.
desk-imported-dupes = { $dupes } of them were already in the ledger from an earlier bundle.
desk-imported-again = This bundle was already imported on { $day }.
desk-imported-purge = Once it is triaged, give the operator this digest to purge it from the server:
desk-import-failed = The bundle was not imported
desk-already-assessed-list = These URLs in the bundle were already assessed; they need not be looked at again:
desk-filter-title = Filter
desk-filter-status = Status
desk-filter-category = Category
desk-filter-language = Language
desk-filter-any = Any
desk-filter-button = Show
desk-status-unassessed = Not assessed yet
desk-status-reported-again = Assessed, reported again
desk-status-assessed = Assessed
desk-status-all = All
desk-count = { $total ->
        [one] { $total } URL
       *[other] { $total } URLs
    }
desk-col-reports = Reports
desk-col-url = URL
desk-col-first = First seen
desk-col-last = Last seen
desk-col-state = Assessment
desk-assess-link = Assess
desk-already = Already assessed on { $day } as { $as } by { $by }.
desk-nothing = Nothing to show.
desk-next = Next page
desk-prev = Previous page
desk-url-title = Assess a URL
desk-reports-naming = Reports naming this URL
desk-report-received = Received
desk-report-language = Language
desk-report-category = Category
desk-report-description = Description
desk-report-typed = Typed
desk-report-answer-link = Answer the reporter
desk-field-classification = Classification
desk-field-site-type = Site type
desk-field-content-type = Content type
desk-field-age-group = Age group
desk-field-gender = Gender
desk-field-flags = Flags
desk-field-virtual = Virtual (drawn, computer-generated)
desk-field-child-modelling = Child modelling
desk-field-user-generated = User-generated
desk-field-hosting-country = Hosting country (two letters, such as NL), if known
desk-field-iwf-category = IWF category (optional)
desk-field-note = Note
desk-none = Not given
desk-save = Save the assessment
desk-saved = Saved.
desk-fix = The assessment was not saved. Please fix:
desk-err-required = Choose one.
desk-err-choice = Choose one of the listed values.
desk-err-country = Two letters, such as NL or FR.
desk-err-note-long = The note is too long.
desk-err-iwf-not-illegal = An IWF category only fits illegal content.
desk-class-baseline = Baseline (illegal everywhere)
desk-class-national = Nationally illegal
desk-class-not-illegal = Not illegal
desk-site-website = Website
desk-site-file-host = File host
desk-site-image-store = Image store
desk-site-image-board = Image board
desk-site-forum = Forum
desk-site-banner-site = Banner site
desk-site-link-site = Link site
desk-site-social-network = Social network
desk-site-redirector = Redirector
desk-site-web-archive = Web archive
desk-site-search-provider = Search provider
desk-site-image-hosting = Image hosting
desk-site-blog = Blog
desk-site-webpage = Webpage
desk-content-images = Images
desk-content-videos = Videos
desk-content-other = Other
desk-age-infant = Infant
desk-age-pre-pubescent = Pre-pubescent
desk-age-pubescent = Pubescent
desk-age-not-determined = Not determined
desk-gender-female = Female
desk-gender-male = Male
desk-gender-both = Both
desk-gender-not-determined = Not determined
desk-iwf-a = Category A
desk-iwf-b = Category B
desk-iwf-c = Category C
desk-report-title = Answer a reporter
desk-answer-status = What the reporter is told
desk-answer-reply = Ready-made answer (translated for the reporter)
desk-answer-text = Your own words (optional)
desk-answer-save = Save the answer
desk-answer-current = Answered on { $day } by { $by }.
desk-astatus-received = Received
desk-astatus-being-assessed = Being assessed
desk-astatus-action-taken = Action taken
desk-astatus-outside-remit = Outside what we can act on
desk-astatus-need-more-info = We need more information
desk-reply-thanks = Thank you
desk-reply-removed = Removed
desk-reply-police = Passed to the police
desk-reply-not-illegal = Not illegal
desk-reply-not-found = Not found
desk-reply-need-platform-account = We need the platform and account
desk-reply-get-help = Get help
desk-reply-passed-abroad = Passed to a hotline abroad
desk-export-title = Exports
desk-export-button = Write the exports
desk-export-written = Written (each a new file, readable by you only):
desk-export-answers-off = No answers file: start the desk with --signing-key to write one.
desk-export-answers-skipped = No answers file: { $why }
desk-bundles = { $bundles ->
        [one] { $bundles } bundle
       *[other] { $bundles } bundles
    }, { $reports ->
        [one] { $reports } report
       *[other] { $reports } reports
    }, { $urls ->
        [one] { $urls } URL
       *[other] { $urls } URLs
    }, { $assessed } assessed.
desk-not-found = Not found.
desk-bad-request = This request could not be read.
